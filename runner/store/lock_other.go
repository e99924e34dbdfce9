//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"errors"
	"os"
)

// Lock is a held advisory lock; this platform has none.
type Lock struct{ f *os.File }

var errNoLocks = errors.New("file locks are not supported on this platform; the runner needs Linux, macOS or a BSD")

func (l *Lock) File() *os.File { return l.f }
func (l *Lock) Unlock() error  { return nil }

func LockExperiment(dir, info string) (*Lock, error)     { return nil, errNoLocks }
func ExperimentLocked(dir string) (bool, string)         { return false, "" }
func LockStage(dir string, onWait func()) (*Lock, error) { return nil, errNoLocks }
func TryLockStage(dir string) (*Lock, error)             { return nil, errNoLocks }
func StageLocked(dir string) bool                        { return false }

func lockRecords(dir string) (func(), error) { return nil, errNoLocks }
