//go:build !linux

package main

import "syscall"

// redisProcAttr is nil outside Linux: the server shares the demo's process
// group, and has no parent-death signal.
func redisProcAttr() *syscall.SysProcAttr { return nil }
