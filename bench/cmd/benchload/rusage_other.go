//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "time"

// cpuTime is unknown on this system: -1.
func cpuTime() time.Duration { return -1 }
