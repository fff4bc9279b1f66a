//go:build ignore

package mod

func Ignored() {}
