# Reads `go test -bench -benchmem -count N` output and prints, per benchmark,
# the medians of ns/op, B/op and allocs/op, and ns/op as a ratio to the
# sibling named "raw" (BenchmarkX/raw) of the same group when there is one.
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	if (!(name in ns)) order[++count] = name
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns[name] = ns[name] " " $(i - 1)
		if ($i == "B/op") bytes[name] = bytes[name] " " $(i - 1)
		if ($i == "allocs/op") allocs[name] = allocs[name] " " $(i - 1)
	}
	runs[name]++
}
END {
	printf "%-44s %6s %12s %10s %10s %10s\n", "benchmark", "runs", "ns/op", "B/op", "allocs/op", "vs raw"
	for (k = 1; k <= count; k++) {
		name = order[k]; group = name; sub(/\/[^\/]*$/, "", group)
		m = median(ns[name]); ratio = "-"
		if ((group "/raw") in ns && name != group "/raw") ratio = sprintf("%.3fx", m / median(ns[group "/raw"]))
		if (name ~ /^BenchmarkOpenCircuit/ && ("BenchmarkGet/raw" in ns)) ratio = sprintf("1/%.1f of Get/raw", median(ns["BenchmarkGet/raw"]) / m)
		printf "%-44s %6d %12.1f %10.0f %10.0f %10s\n", name, runs[name], m, median(bytes[name]), median(allocs[name]), ratio
	}
}
