package secret

func Secret() {}
