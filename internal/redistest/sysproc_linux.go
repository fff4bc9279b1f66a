package redistest

import "syscall"

// sysProcAttr asks Linux to kill redis-server when the thread that started
// it exits, so that a test binary that dies without running its cleanups (a
// -timeout panic) leaves no server behind. The Go runtime ends a thread only
// when a goroutine locked to it exits, so a test that starts a server from
// such a goroutine loses the server with it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
