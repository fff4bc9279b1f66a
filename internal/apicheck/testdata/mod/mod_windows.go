package mod

func WindowsOnly() {}
