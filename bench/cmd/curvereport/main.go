// Command curvereport turns the output of the bench module's cost-curve
// benchmarks (bench/curves_test.go) into a Markdown section and an SVG
// chart: the medians of every curve, the targets met or missed, the
// git commit measured and the machine.
//
// Usage (from bench/):
//
//	go test -run '^$' -bench Curve -benchmem -count 5 . > curves.out
//	go run ./cmd/curvereport -bench curves.out -commit "$(git describe --always --dirty)" \
//		-md ../docs/curves.md -svg ../docs/curves.svg
//
// -bench - reads standard input. Several samples of a benchmark (-count,
// or several runs concatenated) are summarised by their median, with their
// range. It uses the standard library only.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	benchPath := flag.String("bench", "curves.out", "`go test -bench Curve -benchmem` output, - for standard input")
	mdPath := flag.String("md", "curves.md", "Markdown section to write")
	svgPath := flag.String("svg", "curves.svg", "SVG chart to write")
	commit := flag.String("commit", "", "the git commit measured, for the report (e.g. $(git describe --always --dirty))")
	flag.Parse()
	if err := run(*benchPath, *mdPath, *svgPath, *commit, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "curvereport:", err)
		os.Exit(1)
	}
}

func run(benchPath, mdPath, svgPath, commit string, stdin io.Reader) error {
	rd := stdin
	if benchPath != "-" {
		bf, err := os.Open(benchPath)
		if err != nil {
			return err
		}
		defer bf.Close()
		rd = bf
	}
	f, err := parseBench(rd)
	if err != nil {
		return fmt.Errorf("%s: %w", benchPath, err)
	}
	in := input{bench: f, machine: thisMachine(), commit: commit, svgName: filepath.Base(svgPath)}
	var md strings.Builder
	writeReport(&md, in)
	if err := os.WriteFile(mdPath, []byte(md.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(svgPath, []byte(chart(f)), 0o644)
}

// input is everything the report is made of.
type input struct {
	bench   *benchFile
	machine machine
	commit  string
	svgName string
}

type machine struct {
	goos, goarch, cpu, goVersion, load string
	cpus                               int
	date                               time.Time
}

// thisMachine describes the machine the report is written on, which is
// the one the benchmarks ran on when `make` runs both.
func thisMachine() machine {
	m := machine{
		goos: runtime.GOOS, goarch: runtime.GOARCH, cpus: runtime.NumCPU(),
		goVersion: runtime.Version(), date: time.Now().UTC(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	return m
}
