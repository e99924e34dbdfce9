//go:build unix && !linux

package exec

import "syscall"

// sysProcAttr puts the child in its own process group. Without Linux's
// parent-death signal an orphaned child runs to its end; the stage lock
// keeps a new attempt from starting beside it.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func signalGroup(pid int, sig syscall.Signal) { syscall.Kill(-pid, sig) }
