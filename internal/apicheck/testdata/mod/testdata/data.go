package data

func Data() {}
