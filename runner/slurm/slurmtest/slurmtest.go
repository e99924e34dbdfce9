// Package slurmtest starts a real one-node Slurm cluster for tests: its own
// munged (own key and socket), slurmctld and slurmd on free ports, state,
// spool and logs in a temporary directory, stopped when the test ends. It
// needs root and Debian's slurm-wlm and munge packages (.ci/run installs
// them). Without them the test fails, saying how to install them, unless
// COFI_SLURM_TESTS=skip is set: an explicit opt-out for machines without
// Slurm, which CI never sets.
package slurmtest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SkipEnv is the opt-out variable.
const SkipEnv = "COFI_SLURM_TESTS"

// Install is how to get what the tests need.
const Install = "apt-get -o DPkg::Lock::Timeout=900 install -y slurm-wlm munge  (as root; the tests start their own one-node cluster)"

// Cluster is a running test cluster.
type Cluster struct {
	Dir  string // state, spool, logs, slurm.conf
	Conf string // slurm.conf: SLURM_CONF for the client commands
	Node string
	// CPUs and MemMB are what the node offers (more than the machine has:
	// test jobs mostly sleep).
	CPUs, MemMB int
}

// Env is the environment entry that points Slurm's commands at the cluster.
func (c *Cluster) Env() string { return "SLURM_CONF=" + c.Conf }

func lookup(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Start starts a cluster for t and stops it when t (and its subtests) end.
func Start(t testing.TB) *Cluster {
	t.Helper()
	var missing []string
	bins := map[string]string{}
	for _, n := range []string{"munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"} {
		p, err := lookup(n)
		if err != nil {
			missing = append(missing, n)
		}
		bins[n] = p
	}
	problem := ""
	switch {
	case len(missing) > 0:
		problem = "missing " + strings.Join(missing, ", ")
	case os.Geteuid() != 0:
		problem = "the test cluster runs its daemons as root, and this is not root"
	}
	if problem != "" {
		if os.Getenv(SkipEnv) == "skip" {
			t.Skipf("Slurm tests skipped (%s=skip): %s", SkipEnv, problem)
		}
		t.Fatalf("Slurm tests need a real Slurm: %s. Install: %s. To skip them explicitly on a machine without Slurm, set %s=skip (CI never does).",
			problem, Install, SkipEnv)
	}
	dir, err := os.MkdirTemp("", "cofi-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), CPUs: 8, MemMB: 8192}
	t.Cleanup(func() { c.stop(t) })
	for _, d := range []string{"munge", "state", "spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 1024)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "munge", "key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "munge", "socket")
	if out, err := exec.Command(bins["munged"], "--force", "--socket="+sock, "--key-file="+filepath.Join(dir, "munge", "key"),
		"--pid-file="+filepath.Join(dir, "munge", "pid"), "--log-file="+filepath.Join(dir, "log", "munged.log"),
		"--seed-file="+filepath.Join(dir, "munge", "seed")).CombinedOutput(); err != nil {
		t.Fatalf("start munged: %v: %s", err, out)
	}
	host, _ := os.Hostname()
	c.Node, _, _ = strings.Cut(host, ".")
	ports := freePorts(t, 2)
	conf := fmt.Sprintf(`# one-node test cluster (package runner/slurm/slurmtest)
ClusterName=cofitest%d
# Addresses given, so that the host name need not resolve (containers).
SlurmctldHost=%[2]s(127.0.0.1)
SlurmUser=root
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
AuthType=auth/munge
AuthInfo=socket=%[5]s
StateSaveLocation=%[6]s/state
SlurmdSpoolDir=%[6]s/spool
SlurmctldPidFile=%[6]s/ctld.pid
SlurmdPidFile=%[6]s/d.pid
SlurmctldLogFile=%[6]s/log/ctld.log
SlurmdLogFile=%[6]s/log/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# --mem is enforced without cgroups only by jobacct_gather (see package runner/slurm).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
KillWait=5
MinJobAge=900
# No accounting storage (as on many small clusters): sacct -c reads this.
JobCompType=jobcomp/filetxt
JobCompLoc=%[6]s/log/jobcomp.txt
# The node offers more than the machine has: the test jobs mostly sleep.
SlurmdParameters=config_overrides
NodeName=%[2]s NodeAddr=127.0.0.1 CPUs=%[7]d RealMemory=%[8]d State=UNKNOWN
PartitionName=test Nodes=%[2]s Default=YES MaxTime=INFINITE State=UP
`, ports[0], c.Node, ports[0], ports[1], sock, dir, c.CPUs, c.MemMB)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"slurmctld", "slurmd"} {
		if out, err := exec.Command(bins[d], "-f", c.Conf).CombinedOutput(); err != nil {
			t.Fatalf("start %s: %v: %s\n%s", d, err, out, c.Logs())
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := c.Command("sinfo", "--noheader", "--format=%T").Output()
		st := strings.TrimSpace(string(out))
		if err == nil && (st == "idle" || st == "mixed" || st == "allocated") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test cluster did not come up (sinfo: %q, %v)\n%s", st, err, c.Logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return c
}

// Command prepares a Slurm client command against the cluster.
func (c *Cluster) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), c.Env())
	return cmd
}

// Logs returns the tails of the daemons' logs, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, f := range []string{"ctld.log", "d.log", "munged.log"} {
		data, _ := os.ReadFile(filepath.Join(c.Dir, "log", f))
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// stop cancels what is left, then stops the daemons by their pid files.
func (c *Cluster) stop(t testing.TB) {
	if out, _ := c.Command("squeue", "--noheader", "--format=%i").Output(); len(bytes.TrimSpace(out)) > 0 {
		c.Command("scancel", "--user=root").Run()
		for i := 0; i < 100; i++ {
			out, _ := c.Command("squeue", "--noheader", "--format=%i").Output()
			if len(bytes.TrimSpace(out)) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, p := range []string{"d.pid", "ctld.pid", "munge/pid"} {
		b, err := os.ReadFile(filepath.Join(c.Dir, p))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			continue
		}
		proc, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		proc.Signal(syscall.SIGTERM)
		for i := 0; i < 100 && proc.Signal(syscall.Signal(0)) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if t.Failed() {
		t.Logf("test cluster logs (kept in %s):\n%s", c.Dir, c.Logs())
		return
	}
	os.RemoveAll(c.Dir)
}

// freePorts finds n TCP ports nobody listens on now.
func freePorts(t testing.TB, n int) []int {
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
