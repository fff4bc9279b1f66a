package mod

func TestOnly() {}
