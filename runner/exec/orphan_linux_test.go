package exec

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a runner that starts one stage and
// waits, so that a test can SIGKILL it.
func TestMain(m *testing.M) {
	if bin := os.Getenv("COFI_TEST_RUNNER_BIN"); bin != "" {
		l, err := NewLocal(LocalOptions{Binary: bin, Workers: 1})
		if err == nil {
			err = l.Start(Job{StageID: "s", Log: os.Getenv("COFI_TEST_RUNNER_LOG")}, func(Launch) error { return nil })
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		<-l.Done()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStageDiesWithItsRunner: a SIGKILLed runner leaves no stage process
// behind (Linux parent-death signal), so it cannot collide with the next
// runner's attempt.
func TestStageDiesWithItsRunner(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	stageBin := script(t, fmt.Sprintf(`echo $$ > %s.tmp && mv %s.tmp %s; while :; do sleep 0.05; done`, pidFile, pidFile, pidFile))
	self, _ := os.Executable()
	runner := exec.Command(self)
	runner.Env = append(os.Environ(), "COFI_TEST_RUNNER_BIN="+stageBin, "COFI_TEST_RUNNER_LOG="+filepath.Join(dir, "log"))
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for pid == 0 {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(5 * time.Millisecond)
	}
	runner.Process.Kill()
	runner.Wait()
	// The stage process is killed by the kernel; a generous bound keeps a
	// broken build from hanging the suite.
	for deadline := time.Now().Add(30 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("stage process %d survived its runner", pid)
		}
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
