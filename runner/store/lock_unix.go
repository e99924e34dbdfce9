//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is a held advisory lock (flock). The kernel releases it when every
// descriptor of it is closed, so a killed process never leaves a stale lock.
type Lock struct{ f *os.File }

// File is the locked file, e.g. to hand the lock to a child process.
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

var errLocked = errors.New("locked")

func tryLock(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// probe reports whether someone holds an exclusive lock on path, without
// creating it.
func probe(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// LockExperiment takes the runner lock of the experiment in dir and writes
// info (who holds it) into the lock file. If another runner holds it, the
// error says who.
func LockExperiment(dir, info string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, RunnerLock)
	var f *os.File
	var err error
	// A status probe holds a shared lock for microseconds: retry briefly.
	for i := 0; i < 20; i++ {
		if f, err = tryLock(path, syscall.LOCK_EX); !errors.Is(err, errLocked) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("experiment %s is already being run (%s); wait for it or stop it first", dir, holder(path))
	}
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func holder(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "holder unknown"
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 4096))
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "holder unknown"
}

// ExperimentLocked reports whether a runner holds the experiment's lock, and
// what it wrote about itself.
func ExperimentLocked(dir string) (bool, string) {
	path := filepath.Join(dir, RunnerLock)
	if !probe(path) {
		return false, ""
	}
	return true, holder(path)
}

// LockStage takes the lock of a stage directory, waiting while another
// process (an orphaned child of a killed runner that has not died yet) holds
// it; onWait is called once if it has to wait.
func LockStage(dir string, onWait func()) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, StageLock)
	for waited := false; ; waited = true {
		f, err := tryLock(path, syscall.LOCK_EX)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, errLocked) {
			return nil, err
		}
		if !waited && onWait != nil {
			onWait()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TryLockStage takes the lock of a stage directory or fails at once.
func TryLockStage(dir string) (*Lock, error) {
	f, err := tryLock(filepath.Join(dir, StageLock), syscall.LOCK_EX)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("stage %s is being run by another process", dir)
	}
	if err != nil {
		return nil, err
	}
	return &Lock{f: f}, nil
}

// StageLocked reports whether a process holds the lock of a stage directory.
func StageLocked(dir string) bool { return probe(filepath.Join(dir, StageLock)) }

// lockRecords takes the records lock of the experiment in dir, waiting for
// it (it is held for one read and one append).
func lockRecords(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, RecordsLock)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
