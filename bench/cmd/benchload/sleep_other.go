//go:build !linux

package main

import "time"

// preciseSleeper returns the generator's sleep: time.Sleep on this system.
func preciseSleeper() sleeper { return time.Sleep }
