package redisproc

import "syscall"

// sysProcAttr asks Linux to kill redis-server when the thread that started
// it exits, so that a parent that dies without stopping it (a test binary's
// -timeout panic, a killed demo) leaves no server behind. The Go runtime
// ends a thread only when a goroutine locked to it exits. ownGroup also
// puts the server in a process group of its own.
func sysProcAttr(ownGroup bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: ownGroup, Pdeathsig: syscall.SIGKILL}
}
