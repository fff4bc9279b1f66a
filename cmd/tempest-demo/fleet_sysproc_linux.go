package main

import "syscall"

// redisProcAttr puts -fleet's redis-server in a process group of its own,
// so that a Ctrl-C at the terminal reaches the demo only, which stops the
// server after its clients; and asks Linux to kill the server if the demo
// dies without stopping it.
func redisProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
