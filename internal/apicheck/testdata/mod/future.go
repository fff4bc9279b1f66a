//go:build go1.99

package mod

// Future is for a Go release after the module's go line: not recorded.
func Future() {}
