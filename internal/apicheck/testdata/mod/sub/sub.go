// Package sub is a second package of the module.
package sub

func Sub() int { return 1 }
