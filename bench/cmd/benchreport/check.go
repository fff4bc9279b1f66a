package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// The thresholds of -check.
const (
	// ratioSlack is how much higher than the committed median ratio a fresh
	// one may be before a significant increase counts as a regression.
	ratioSlack = 1.05
	// loopbackAllocSlack is the allocations per call a loopback group may
	// gain: the server allocates in the same process, and its share per call
	// wavers.
	loopbackAllocSlack = 1
)

// checkRow is Tempest's row of one group (and form) in the committed and
// the fresh figures.
type checkRow struct {
	key                string // "Layer", "Loopback h2", "OpenCircuit url=relative"
	committed, fresh   *result
	cBase, fBase       *result // raw's row each is relative to
	cRatios, fRatios   []float64
	cAllocs, fAllocs   float64
	p                  float64
	verdict            string // "ok", "REGRESSION", "faster" or "not compared"
	why                string // what regressed, or why the row was not compared
	ratioUp, allocsUp  bool
	significantlyLower bool
}

// runCheck compares the fresh figures with the committed ones, writes the
// table to w and reports whether any row regressed. An error means a file
// is missing or holds no results.
func runCheck(committedPath, freshPath string, w io.Writer) (bool, error) {
	committed, err := readBench(committedPath)
	if err != nil {
		return false, err
	}
	fresh, err := readBench(freshPath)
	if err != nil {
		return false, err
	}
	rows := checkRows(committed, fresh)
	compared := 0
	for _, r := range rows {
		if r.verdict != "not compared" {
			compared++
		}
	}
	fmt.Fprintf(w, "committed: %s, %s (%d passes)\n", committedPath, committed.commitPhrase(), committed.passes())
	fmt.Fprintf(w, "fresh:     %s, %s (%d passes)\n\n", freshPath, fresh.commitPhrase(), fresh.passes())
	writeCheck(w, rows)
	if compared == 0 {
		return false, errors.New("no Tempest row with a raw net/http baseline in both files: nothing to compare")
	}
	regressed := false
	for _, r := range rows {
		if r.verdict == "REGRESSION" {
			regressed = true
		}
	}
	if regressed {
		fmt.Fprintf(w, "\nFAIL: a significant regression against %s.\n", committedPath)
	} else {
		fmt.Fprintf(w, "\nPASS: no significant regression against %s.\n", committedPath)
	}
	return regressed, nil
}

// readBench opens and parses a `go test -bench` output.
func readBench(path string) (*benchFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := parseBench(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// checkBase is the row r's ratio is taken to: raw's row of its group, or
// raw's Layer for the open circuit, as the report does.
func checkBase(f *benchFile, r *result) *result {
	if r.group == "OpenCircuit" {
		return f.get("Layer", baseline, "")
	}
	return f.get(r.group, baseline, "")
}

// pairedRatios returns the per-pass ratios t.ns[i]/base.ns[i], pairing the
// i-th samples of each (both were taken in pass i).
func pairedRatios(base, t *result) []float64 {
	n := min(len(base.ns), len(t.ns))
	rs := make([]float64, 0, n)
	for i := range n {
		if base.ns[i] > 0 {
			rs = append(rs, t.ns[i]/base.ns[i])
		}
	}
	return rs
}

// checkRows compares Tempest's rows of committed and fresh: those of the
// committed file in its order, then those only in the fresh one.
func checkRows(committed, fresh *benchFile) []*checkRow {
	const tempest = "tempest"
	var rows []*checkRow
	byKey := map[string]*checkRow{}
	add := func(r *result, isFresh bool) {
		if r.client != tempest {
			return
		}
		key := r.group
		if r.rest != "" {
			key += " " + r.rest
		}
		row := byKey[key]
		if row == nil {
			row = &checkRow{key: key}
			byKey[key] = row
			rows = append(rows, row)
		}
		if isFresh {
			row.fresh, row.fBase = r, checkBase(fresh, r)
		} else {
			row.committed, row.cBase = r, checkBase(committed, r)
		}
	}
	for _, r := range committed.results {
		add(r, false)
	}
	for _, r := range fresh.results {
		add(r, true)
	}
	for _, row := range rows {
		judge(row)
	}
	return rows
}

// judge fills in row's figures and verdict.
func judge(row *checkRow) {
	switch {
	case row.committed == nil:
		row.verdict, row.why = "not compared", "only in the fresh run"
		return
	case row.fresh == nil:
		row.verdict, row.why = "not compared", "only in the committed figures"
		return
	case row.cBase == nil || row.fBase == nil:
		row.verdict, row.why = "not compared", "no raw net/http baseline in both files"
		return
	}
	row.cRatios, row.fRatios = pairedRatios(row.cBase, row.committed), pairedRatios(row.fBase, row.fresh)
	row.cAllocs, row.fAllocs = median(row.committed.allocs), median(row.fresh.allocs)
	if len(row.cRatios) == 0 || len(row.fRatios) == 0 {
		row.verdict, row.why = "not compared", "no ns/op samples"
		return
	}
	cm, fm := median(row.cRatios), median(row.fRatios)
	row.p = utest(row.cRatios, row.fRatios)
	sig := row.p < alpha
	row.ratioUp = fm > cm*ratioSlack && sig
	row.significantlyLower = fm < cm && sig
	slack := 0.0
	if strings.HasPrefix(row.key, "Loopback") {
		slack = loopbackAllocSlack
	}
	row.allocsUp = !math.IsNaN(row.cAllocs) && !math.IsNaN(row.fAllocs) && row.fAllocs > row.cAllocs+slack
	var why []string
	if row.ratioUp {
		why = append(why, fmt.Sprintf("ratio to raw %s against %s (more than +%.0f%%, p=%.3f)", fmtRatio(fm), fmtRatio(cm), (ratioSlack-1)*100, row.p))
	}
	if row.allocsUp {
		limit := "more than the committed"
		if slack > 0 {
			limit = fmt.Sprintf("more than the committed %s + %s", fmtNum(row.cAllocs), fmtNum(slack))
		}
		why = append(why, fmt.Sprintf("%s allocs/op against %s (%s)", fmtNum(row.fAllocs), fmtNum(row.cAllocs), limit))
	}
	switch {
	case len(why) > 0:
		row.verdict, row.why = "REGRESSION", strings.Join(why, "; ")
	case row.significantlyLower:
		row.verdict = "faster"
	default:
		row.verdict = "ok"
	}
}

// writeCheck writes the comparison table, then the reasons of each
// regression and of each row not compared.
func writeCheck(w io.Writer, rows []*checkRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group/row\tcommitted ratio\tfresh ratio\tp\tcommitted allocs\tfresh allocs\tverdict")
	for _, r := range rows {
		if r.verdict == "not compared" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t%s\tnot compared\n", r.key, allocsCell(r.committed), allocsCell(r.fresh))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\t%s\n", r.key,
			fmtRatio(median(r.cRatios)), fmtRatio(median(r.fRatios)), r.p,
			fmtNum(r.cAllocs), fmtNum(r.fAllocs), r.verdict)
	}
	tw.Flush()
	var notes []string
	for _, r := range rows {
		if r.why != "" {
			notes = append(notes, fmt.Sprintf("%s: %s: %s", r.key, r.verdict, r.why))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(w, "\nRatios: medians of the per-pass ratios of Tempest's ns/op to raw net/http's in the same pass (raw's Layer for OpenCircuit); p: Mann-Whitney U test of the fresh ratios against the committed ones.\n")
	fmt.Fprintf(w, "A regression: a ratio more than %.0f%% above the committed one at p < %.2f, or more allocs/op than committed (more than %d more on loopback).\n", (ratioSlack-1)*100, alpha, loopbackAllocSlack)
}

func allocsCell(r *result) string {
	if r == nil {
		return "-"
	}
	return fmtNum(median(r.allocs))
}
