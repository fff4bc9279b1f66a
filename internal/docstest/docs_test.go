package docstest_test

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels up from this package.
const repoRoot = "../.."

// docFiles returns README.md and docs/*.md, as slash paths from the root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	matches, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		rel, err := filepath.Rel(repoRoot, m)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	return files
}

func readLines(t *testing.T, slashPath string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(slashPath)))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
}

// fenced is one fenced code block of a doc.
type fenced struct {
	open, close int    // 0-based lines of the opening and closing fences
	lang        string // the info string's first word, lower case
}

var (
	sourceRE = regexp.MustCompile(`^<!--\s*source:\s*(\S+)\s*-->$`)
	fenceRE  = regexp.MustCompile("^(`{3,}|~{3,})\\s*([A-Za-z0-9_+-]*)")
)

// fences returns a doc's fenced code blocks. A block ends at a line of at
// least as many of its fence characters and nothing else, so that a block
// can show another fence inside it.
func fences(lines []string) ([]fenced, error) {
	var out []fenced
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			continue
		}
		fence := m[1]
		end := -1
		for j := i + 1; j < len(lines); j++ {
			if t := strings.TrimSpace(lines[j]); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("line %d: fence %s is never closed", i+1, fence)
		}
		out = append(out, fenced{open: i, close: end, lang: strings.ToLower(m[2])})
		i = end
	}
	return out, nil
}

// goBlock is one fenced Go block of a doc.
type goBlock struct {
	line   int      // 1-based line of the opening fence
	source string   // the path named by the source comment, "" if none
	lines  []string // the block's lines, fences excluded
}

// goBlocks returns the Go blocks of a doc: fences whose info string is go or
// golang, in any case.
func goBlocks(lines []string) ([]goBlock, error) {
	fs, err := fences(lines)
	if err != nil {
		return nil, err
	}
	var blocks []goBlock
	for _, f := range fs {
		if f.lang != "go" && f.lang != "golang" {
			continue
		}
		b := goBlock{line: f.open + 1, lines: lines[f.open+1 : f.close]}
		if f.open > 0 {
			if m := sourceRE.FindStringSubmatch(strings.TrimSpace(lines[f.open-1])); m != nil {
				b.source = m[1]
			}
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// checkSource reports why a source comment's path is not acceptable: it must
// be a clean relative path to a .go file of the repo, in examples/ or a test
// file (where Example functions live), so that it compiles in `make test`.
func checkSource(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("no <!-- source: PATH --> comment on the line before the block")
	case path.IsAbs(p) || p != path.Clean(p) || strings.HasPrefix(p, "../"):
		return fmt.Errorf("source %q is not a clean path relative to the repository root", p)
	case !strings.HasSuffix(p, ".go"):
		return fmt.Errorf("source %q is not a .go file", p)
	case !strings.HasPrefix(p, "examples/") && !strings.HasSuffix(p, "_test.go"):
		return fmt.Errorf("source %q is neither an examples/ program nor a _test.go file", p)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(p))); err != nil {
		return fmt.Errorf("source %q: %v", p, err)
	}
	return nil
}

// matchBlock checks that each non-blank, non-"..." line of block, trimmed,
// is a line of src, in src's order. It returns the first line that is not.
func matchBlock(block, src []string) (missing string, ok bool) {
	next := 0
	for _, bl := range block {
		want := strings.Trim(bl, " \t")
		if want == "" || want == "..." {
			continue
		}
		found := false
		for ; next < len(src); next++ {
			if strings.Trim(src[next], " \t") == want {
				found = true
				next++
				break
			}
		}
		if !found {
			return want, false
		}
	}
	return "", true
}

// TestGoBlocksComeFromCompiledCode is the issue's rule "every Go block in the
// docs compiles": each block is quoted, line for line and in order, from a
// file that `make test` compiles and runs.
func TestGoBlocksComeFromCompiledCode(t *testing.T) {
	total := 0
	for _, doc := range docFiles(t) {
		blocks, err := goBlocks(readLines(t, doc))
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		for _, b := range blocks {
			total++
			if err := checkSource(b.source); err != nil {
				t.Errorf("%s: Go block at line %d: %v", doc, b.line, err)
				continue
			}
			if missing, ok := matchBlock(b.lines, readLines(t, b.source)); !ok {
				t.Errorf("%s: Go block at line %d: line %q is not in %s (or not in the file's order)",
					doc, b.line, missing, b.source)
			}
		}
	}
	if total == 0 {
		t.Error("no Go blocks found: is the repository root right?")
	}
}

var linkRE = regexp.MustCompile(`(!?)\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// TestRelativeLinksResolve checks that every relative link of the docs leads
// to a file or directory of the repository. Images are skipped: the demo's
// timeline (docs/demo/) is generated, not committed with the docs.
func TestRelativeLinksResolve(t *testing.T) {
	for _, doc := range docFiles(t) {
		lines := readLines(t, doc)
		fs, err := fences(lines)
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		inFence := make([]bool, len(lines))
		for _, f := range fs {
			for i := f.open; i <= f.close; i++ {
				inFence[i] = true
			}
		}
		for i, line := range lines {
			if inFence[i] {
				continue
			}
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				image, target := m[1] == "!", m[2]
				if image || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
					continue
				}
				target, _, _ = strings.Cut(target, "#")
				p := path.Join(path.Dir(doc), target)
				if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(p))); err != nil {
					t.Errorf("%s:%d: link %q: %v", doc, i+1, m[2], err)
				}
			}
		}
	}
}

// TestReadmeLinksEveryDocAndExample checks that the README is the way in:
// it links to every page of docs/ and every program of examples/.
func TestReadmeLinksEveryDocAndExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, doc := range docFiles(t)[1:] {
		want = append(want, "("+doc+")")
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			want = append(want, "(examples/"+e.Name()+")")
		}
	}
	for _, w := range want {
		if !strings.Contains(string(readme), w) {
			t.Errorf("README.md has no link to %s", strings.Trim(w, "()"))
		}
	}
}

// TestChecker checks the checks on small inputs, so that a bug in them cannot
// pass broken docs.
func TestChecker(t *testing.T) {
	src := []string{
		"func f() {",
		"\tclient, err := httpclient.New(base)",
		"\tif err != nil {",
		"\t\treturn err",
		"\t}",
		"\tdefer client.Close()",
		"}",
	}
	for _, tc := range []struct {
		name  string
		block string
		ok    bool
	}{
		{"exact", "client, err := httpclient.New(base)\nif err != nil {\n\treturn err\n}", true},
		{"gaps and elision", "client, err := httpclient.New(base)\n...\n\ndefer client.Close()", true},
		{"reindented", "    client, err := httpclient.New(base)\n  defer client.Close()", true},
		{"out of order", "defer client.Close()\nclient, err := httpclient.New(base)", false},
		{"edited line", "client, err := httpclient.New(other)", false},
		{"repeated line needs two", "}\n}\n}", false},
		{"partial line", "client, err :=", false},
	} {
		_, ok := matchBlock(strings.Split(tc.block, "\n"), src)
		if ok != tc.ok {
			t.Errorf("%s: matchBlock = %v, want %v", tc.name, ok, tc.ok)
		}
	}

	doc := strings.Split(strings.Join([]string{
		"intro",
		"<!-- source: examples/basic/main.go -->",
		"```go",
		"a := 1",
		"```",
		"````text",
		"```go",
		"not a block",
		"```",
		"````",
		"```Go",
		"b := 2",
		"```",
		"```sh",
		"go test ./...",
		"```",
	}, "\n"), "\n")
	blocks, err := goBlocks(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].source != "examples/basic/main.go" || blocks[0].line != 3 ||
		blocks[1].source != "" || blocks[1].line != 11 || strings.Join(blocks[1].lines, "") != "b := 2" {
		t.Errorf("goBlocks = %+v", blocks)
	}
	if _, err := goBlocks([]string{"```go", "x"}); err == nil {
		t.Error("goBlocks accepted an unclosed fence")
	}

	for p, ok := range map[string]bool{
		"examples/basic/main.go":          true,
		"httpclient/example_test.go":      true,
		"httpclient/client.go":            false, // not a test file: its snippet would not be an example
		"examples/../httpclient/x.go":     false,
		"/etc/passwd":                     false,
		"README.md":                       false,
		"examples/missing/main.go":        false,
		"httpclient/example_docs_test.go": true,
		"requestid/no_such_test.go":       false,
		"":                                false,
		"examples/basic/main_test.go":     true,
		"./examples/basic/main.go":        false,
		"examples//basic/main.go":         false,
		"examples/basic/../basic/x.go":    false,
		"examples/basic/main.go#L1":       false,
		"breaker/example_test.go":         true,
		"cmd/tempest-demo/main_test.go":   true,
	} {
		if err := checkSource(p); (err == nil) != ok {
			t.Errorf("checkSource(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

// Every rule of docs/semantics.md is named by at least one test's name
// (TestRetry_R7_Methods, ...), so that a rule cannot lose its last test
// unnoticed.
func TestEveryRuleIsNamedByATest(t *testing.T) {
	ruleRE := regexp.MustCompile(`^- \*\*(R\d+)\*\*`)
	var rules []string
	for _, l := range readLines(t, "docs/semantics.md") {
		if m := ruleRE.FindStringSubmatch(l); m != nil {
			rules = append(rules, m[1])
		}
	}
	if len(rules) < 50 {
		t.Fatalf("found %d rules in docs/semantics.md: the format changed?", len(rules))
	}
	named := map[string]bool{}
	funcRE := regexp.MustCompile(`^func (?:Test|Benchmark|Fuzz|Example)(\w*)\(`)
	numRE := regexp.MustCompile(`R(\d+)`)
	err := filepath.WalkDir(repoRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if m := funcRE.FindStringSubmatch(l); m != nil {
				for _, n := range numRE.FindAllStringSubmatch(m[1], -1) {
					named["R"+n[1]] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if !named[r] {
			t.Errorf("%s of docs/semantics.md is named by no test: name the test that checks it (TestX_%s_...)", r, r)
		}
	}
}
