package main

import (
	"math"
	"slices"
)

// alpha is the significance level, benchstat's default.
const alpha = 0.05

// median returns the median of xs (NaN when empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// utest returns the two-sided p-value of the Mann-Whitney U test of x
// against y, the test benchstat uses. For up to 20 samples in all it is
// exact: the rank sum of x is compared with its value under every split of
// the pooled (mid-ranked, so ties are handled) samples. Beyond, the normal
// approximation with the tie correction.
func utest(x, y []float64) float64 {
	n, m := len(x), len(y)
	if n == 0 || m == 0 {
		return math.NaN()
	}
	pooled := append(slices.Clone(x), y...)
	ranks := midRanks(pooled)
	obs := 0.0
	for i := range n {
		obs += ranks[i]
	}
	N := n + m
	mean := float64(n) * float64(N+1) / 2
	dev := math.Abs(obs - mean)
	if N <= 20 {
		// Ranks are multiples of 0.5: compare in half-units to avoid
		// rounding.
		var total, extreme int
		var rec func(start, left int, sum float64)
		rec = func(start, left int, sum float64) {
			if left == 0 {
				total++
				if math.Abs(sum-mean) >= dev-1e-9 {
					extreme++
				}
				return
			}
			for i := start; i <= N-left; i++ {
				rec(i+1, left-1, sum+ranks[i])
			}
		}
		rec(0, n, 0)
		return float64(extreme) / float64(total)
	}
	// Normal approximation with tie correction.
	ties := 0.0
	s := slices.Clone(pooled)
	slices.Sort(s)
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	nf, mf, Nf := float64(n), float64(m), float64(N)
	variance := nf * mf / 12 * ((Nf + 1) - ties/(Nf*(Nf-1)))
	if variance <= 0 {
		return 1
	}
	z := (dev - 0.5) / math.Sqrt(variance)
	if z < 0 {
		return 1
	}
	return math.Erfc(z / math.Sqrt2)
}

// midRanks ranks xs from 1, giving tied values the mean of their ranks.
func midRanks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		i = j
	}
	return ranks
}

// comparison is y against the baseline x: the ratio of medians and the
// U test's p-value.
type comparison struct {
	ratio float64
	p     float64
}

func compare(base, y []float64) comparison {
	return comparison{ratio: median(y) / median(base), p: utest(base, y)}
}

// significant reports whether the difference is significant at alpha.
func (c comparison) significant() bool { return c.p < alpha }
