package exec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDetectGPUsFromEnv(t *testing.T) {
	cases := map[string]string{"0,1": "0 1", "": "", "2, 3": "2 3", "-1": "", "GPU-ab12,GPU-cd34": "GPU-ab12 GPU-cd34", "1,-1,2": "1"}
	for v, want := range cases {
		ids, src := DetectGPUs(func(k string) (string, bool) { return v, k == "CUDA_VISIBLE_DEVICES" })
		if strings.Join(ids, " ") != want || src != "CUDA_VISIBLE_DEVICES" {
			t.Errorf("CUDA_VISIBLE_DEVICES=%q: %v from %s, want %q", v, ids, src, want)
		}
	}
}

// script writes an executable standing in for `cofi run-stage`.
func script(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "stage.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func start(t *testing.T, l *Local, name string, exclusive bool) (Launch, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "log.txt")
	var got Launch
	err := l.Start(Job{StageID: name, Name: name, Manifest: "/m.json", Attempt: 2, Exclusive: exclusive, Log: log},
		func(la Launch) error { got = la; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return got, log
}

func TestLocalSlotsEnvAndExitStatus(t *testing.T) {
	// The stages wait for a file, so that all three hold their slots.
	goFile := filepath.Join(t.TempDir(), "go")
	bin := script(t, `echo "CVD=[$CUDA_VISIBLE_DEVICES] OMP=$OMP_NUM_THREADS ARGS=$*"; while [ ! -e "$GO_FILE" ]; do sleep 0.01; done; exit 3`)
	l, err := NewLocal(LocalOptions{Binary: bin, GPUs: []string{"4", "7"}, Workers: 3, Threads: 2, Env: []string{"GO_FILE=" + goFile}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Capacity() != 3 {
		t.Fatalf("capacity %d", l.Capacity())
	}
	var logs []string
	var launches []Launch
	for _, n := range []string{"a", "b", "c"} {
		la, log := start(t, l, n, false)
		launches = append(launches, la)
		logs = append(logs, log)
	}
	if err := l.Start(Job{StageID: "d", Log: filepath.Join(t.TempDir(), "l")}, func(Launch) error { return nil }); err == nil {
		t.Error("started beyond capacity")
	}
	os.WriteFile(goFile, nil, 0o644)
	for range 3 {
		o := <-l.Done()
		if o.ExitCode != 3 || o.Signal != "" || o.TimedOut || o.Interrupted || o.Err != nil {
			t.Errorf("outcome %+v", o)
		}
	}
	// Three workers on two GPUs share them round-robin, one GPU per stage.
	want := []string{"CVD=[4] OMP=2", "CVD=[7] OMP=2", "CVD=[4] OMP=2"}
	for i, log := range logs {
		b, _ := os.ReadFile(log)
		if !strings.Contains(string(b), want[i]) || !strings.Contains(string(b), "ARGS=run-stage --manifest /m.json --stage "+string(rune('a'+i))+" --attempt 2 --threads 2") ||
			!strings.HasPrefix(string(b), "=== attempt 2, ") {
			t.Errorf("log %d: %s", i, b)
		}
		if launches[i].Threads != 2 || !strings.Contains(launches[i].Device, "CUDA_VISIBLE_DEVICES="+want[i][5:6]) {
			t.Errorf("launch %+v", launches[i])
		}
	}
}

func TestLocalCPUExclusiveGetsAllThreads(t *testing.T) {
	bin := script(t, `echo "CVD=[$CUDA_VISIBLE_DEVICES] OMP=$OMP_NUM_THREADS"`)
	l, _ := NewLocal(LocalOptions{Binary: bin, Workers: 2, Threads: 3})
	la, log := start(t, l, "s", true)
	if o := <-l.Done(); o.ExitCode != 0 {
		t.Fatalf("outcome %+v", o)
	}
	b, _ := os.ReadFile(log)
	if la.Threads != 6 || la.Device != "cpu" || !strings.Contains(string(b), "CVD=[] OMP=6") {
		t.Errorf("launch %+v, log %s", la, b)
	}
}

func TestLocalSignalsTimeoutAndKill(t *testing.T) {
	l, _ := NewLocal(LocalOptions{Binary: script(t, `kill -9 $$`), Workers: 1})
	start(t, l, "k", false)
	if o := <-l.Done(); o.Signal != "killed" || o.ExitCode != -1 || o.TimedOut || o.Interrupted {
		t.Errorf("self-kill outcome %+v", o)
	}
	// A stage that ignores SIGTERM is killed after the grace period.
	l, _ = NewLocal(LocalOptions{Binary: script(t, `trap "" TERM; while :; do sleep 0.05; done`), Workers: 1,
		Timeout: 50 * time.Millisecond, KillGrace: 50 * time.Millisecond})
	start(t, l, "t", false)
	if o := <-l.Done(); !o.TimedOut || o.Signal != "killed" {
		t.Errorf("timeout outcome %+v", o)
	}
	// Interrupt sends SIGINT to the process group.
	l, _ = NewLocal(LocalOptions{Binary: script(t, `trap "exit 7" INT; echo up; while :; do sleep 0.05; done`), Workers: 1, KillGrace: time.Minute})
	_, log := start(t, l, "i", false)
	for {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "up") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Interrupt()
	if o := <-l.Done(); !o.Interrupted || o.ExitCode != 7 {
		t.Errorf("interrupt outcome %+v", o)
	}
	l, _ = NewLocal(LocalOptions{Binary: script(t, `trap "" INT; echo up; while :; do sleep 0.05; done`), Workers: 1, KillGrace: time.Minute})
	_, log = start(t, l, "i2", false)
	for {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "up") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.Interrupt()
	l.Kill()
	if o := <-l.Done(); !o.Interrupted || o.Signal != "killed" {
		t.Errorf("kill outcome %+v", o)
	}
}

func TestPrepareErrorStartsNothing(t *testing.T) {
	l, _ := NewLocal(LocalOptions{Binary: script(t, `exit 0`), Workers: 1})
	err := l.Start(Job{StageID: "x", Log: filepath.Join(t.TempDir(), "l")}, func(Launch) error { return os.ErrPermission })
	if err == nil {
		t.Fatal("prepare error ignored")
	}
	// The slot is free again.
	start(t, l, "y", false)
	if o := <-l.Done(); o.ExitCode != 0 {
		t.Errorf("outcome %+v", o)
	}
}
