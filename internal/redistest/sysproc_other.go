//go:build !linux

package redistest

import "syscall"

// sysProcAttr is nil outside Linux: no parent-death signal there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
