// Command apicheck records the exported API of a module in a committed text
// file, one line per exported element in the manner of the Go repository's
// api/*.txt files, and checks that the file is up to date:
//
//	pkg github.com/tempestsdk/tempest/httpclient, func New(string, ...Option) (*Client, error)
//	pkg github.com/tempestsdk/tempest/httpclient, method (*Client) Close() error
//	pkg github.com/tempestsdk/tempest/httpclient, type Attempt struct, Method string
//
// It reads the source only (go/parser, no type-checking), so it needs nothing
// but the standard library and works on a tree that does not build.
//
// Usage:
//
//	go run ./internal/apicheck [-root DIR] [-out FILE] [-w]
//
// -root is the module root (default "."); -out the API file (default
// api/NAME.txt, NAME being the last element of the module path, "tempest" for
// the core module). With -w the file is rewritten; without it the generated
// lines are compared with the file, and on a difference the added (+) and
// removed (-) lines are printed and the exit status is 1.
//
// Recorded: every package of the module that another module can import, that
// is every package directory except testdata, hidden and _ directories,
// directories with their own go.mod (other modules, recorded by their own
// run), anything under an internal/ directory, and package main. Test files
// are left out, and so are files whose build constraints exclude them on
// linux/amd64 without cgo, with the release tags of the module's go line
// (//go:build ignore among them), so the record does not depend on the
// machine or the toolchain that writes it.
//
// How each element is written:
//
//   - func and method signatures with the parameter names dropped; a method
//     is recorded when its receiver's type is exported;
//   - type T struct, then one line per exported field ("embedded T" for an
//     exported embedded type); the exported fields and methods promoted from
//     an unexported embedded type of the same package are recorded as the
//     outer type's own;
//   - type T interface { all, method, names }, then one line per exported
//     method, embedded type or type-set term;
//   - other types as declared (type Option func(*config)), aliases as
//     type A = B, type parameters as written;
//   - const X = VALUE with the value expression as written (iota replaced by
//     its value), and also const X T when the constant has a declared type
//     (repeated for the implicit lines of a group);
//   - var X T with the declared type, or the type of an obvious initial
//     value (errors.New and fmt.Errorf: error; T{...}; &T{...}; a literal; a
//     call of a function of the package with one result), else var X.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

const changedMsg = "the exported API changed; if intended, run `make api` and record the change in CHANGELOG.md"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the command; it returns the exit status: 0 when the file is up to
// date (or was written), 1 when the API differs from it, 2 on any other
// failure.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("apicheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	root := flags.String("root", ".", "the module root `dir`ectory")
	out := flags.String("out", "", "the API `file` (default api/NAME.txt, NAME the last element of the module path)")
	write := flags.Bool("w", false, "write the API file instead of checking it")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() != 0 {
		fmt.Fprintf(stderr, "apicheck: unexpected arguments %q\n", flags.Args())
		return 2
	}

	mod, err := readModFile(*root)
	if err != nil {
		fmt.Fprintf(stderr, "apicheck: %v\n", err)
		return 2
	}
	if *out == "" {
		*out = filepath.Join("api", moduleName(mod.path)+".txt")
	}
	modPath := mod.path
	lines, err := moduleAPI(*root, mod)
	if err != nil {
		fmt.Fprintf(stderr, "apicheck: %v\n", err)
		return 2
	}
	generated := []byte(strings.Join(lines, "\n") + "\n")
	if len(lines) == 0 {
		generated = nil
	}

	if *write {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			fmt.Fprintf(stderr, "apicheck: %v\n", err)
			return 2
		}
		if err := os.WriteFile(*out, generated, 0o644); err != nil {
			fmt.Fprintf(stderr, "apicheck: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "apicheck: wrote %s (%s, %d lines)\n", *out, modPath, len(lines))
		return 0
	}

	recorded, err := os.ReadFile(*out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "apicheck: %v\n", err)
		return 2
	}
	if bytes.Equal(recorded, generated) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "apicheck: %s does not exist\n", *out)
	}
	removed, added := diff(splitLines(recorded), lines)
	if len(removed) == 0 && len(added) == 0 {
		fmt.Fprintf(stderr, "apicheck: %s holds the right lines but not in the form -w writes (sorted, one per line); run `make api`\n", *out)
		return 1
	}
	fmt.Fprintf(stderr, "apicheck: %s (%s) is out of date:\n", *out, modPath)
	fmt.Fprintf(stderr, "--- %s (recorded)\n+++ %s (exported now)\n", *out, modPath)
	for _, l := range merge(removed, added) {
		fmt.Fprintln(stderr, l)
	}
	fmt.Fprintln(stderr, changedMsg)
	return 1
}

// moduleName is the file name of a module's API file: the last element of
// its path, a major version suffix left out (".../tempest" is "tempest",
// ".../tempest/bench" is "bench", ".../redis/v2" is "redis").
func moduleName(modPath string) string {
	name := path.Base(modPath)
	if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" && path.Dir(modPath) != "." {
		name = path.Base(path.Dir(modPath))
	}
	return name
}

func splitLines(b []byte) []string {
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// diff returns the lines of old missing from new, and of new missing from
// old, each in the order of its input.
func diff(old, new []string) (removed, added []string) {
	inOld := make(map[string]bool, len(old))
	for _, l := range old {
		inOld[l] = true
	}
	inNew := make(map[string]bool, len(new))
	for _, l := range new {
		inNew[l] = true
	}
	for _, l := range old {
		if !inNew[l] {
			removed = append(removed, "-"+l)
		}
	}
	for _, l := range new {
		if !inOld[l] {
			added = append(added, "+"+l)
		}
	}
	return removed, added
}

// merge interleaves the removed and added lines in the order of the lines
// without their sign, so that the old and the new form of one element are
// printed together.
func merge(removed, added []string) []string {
	out := make([]string, 0, len(removed)+len(added))
	for len(removed) > 0 && len(added) > 0 {
		if removed[0][1:] <= added[0][1:] {
			out, removed = append(out, removed[0]), removed[1:]
		} else {
			out, added = append(out, added[0]), added[1:]
		}
	}
	out = append(out, removed...)
	return append(out, added...)
}
