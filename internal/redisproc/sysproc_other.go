//go:build !linux

package redisproc

import "syscall"

// sysProcAttr is nil outside Linux: no parent-death signal, no group.
func sysProcAttr(bool) *syscall.SysProcAttr { return nil }
