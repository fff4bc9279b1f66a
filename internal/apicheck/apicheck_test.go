package main

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/mod.api from testdata/mod")

// copyModule copies testdata/mod into a temporary directory and returns it.
// The go.mod files are stored as go.mod.in, so that the repository holds no
// stray module that `make`'s module list or the go command would pick up.
func copyModule(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", "mod")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if d.Name() == "go.mod.in" {
			target = filepath.Join(filepath.Dir(target), "go.mod")
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func runAPICheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestGolden checks the lines of the test module against testdata/mod.api,
// the file `-w` writes: go test ./internal/apicheck -update rewrites it.
func TestGolden(t *testing.T) {
	root := copyModule(t)
	golden := filepath.Join("testdata", "mod.api")
	if *update {
		if code, _, stderr := runAPICheck(t, "-root", root, "-out", golden, "-w"); code != 0 {
			t.Fatalf("-w: exit %d\n%s", code, stderr)
		}
	}
	if code, _, stderr := runAPICheck(t, "-root", root, "-out", golden); code != 0 {
		t.Fatalf("exit %d, want 0 (run with -update if the change is intended)\n%s", code, stderr)
	}
}

// TestLines pins the lines for each feature, so that a golden file
// regenerated carelessly cannot hide a regression.
func TestLines(t *testing.T) {
	lines, err := moduleAPI(copyModule(t), modFile{path: "example.com/mod", minor: 26})
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bool)
	for _, l := range lines {
		got[strings.TrimPrefix(l, "pkg example.com/mod, ")] = true
	}
	want := []string{
		// funcs: names dropped, a, b int expanded, nested func types too
		"func Lookup(string) (string, bool)",
		"func Split(int, int, ...Option) (int, error)",
		"func Register(string, func(string, int) error)",
		// generics
		"func Map[T, U any]([]T, func(T) U) []U",
		"func Keys[K comparable, V any](map[K]V) []K",
		"type List[T any] struct",
		"type List[T any] struct, Items []T",
		"method (*List[T]) Push(T)",
		"method (List[T]) Len() int",
		"type Pair[K comparable, V any] struct, Key K",
		"type Number interface {}",
		"type Number interface, ~int | ~int64 | ~float64",
		// struct fields
		"type Client struct",
		"type Client struct, Name string",
		"type Client struct, A int",
		"type Client struct, B int",
		"type Client struct, Timeout time.Duration",
		"type Client struct, embedded io.Reader",
		"type Client struct, embedded *Options",
		"type Client struct, Callback func(string, int) bool",
		"type Client struct, Anonymous struct{X, Y int}",
		"method (*Client) Get(string, ...Option) (*Response, error)",
		"method (Client) String() string",
		// promoted from the unexported embedded struct
		"type Client struct, Promoted int",
		"method (*Client) PromotedPtr()",
		"method (Client) PromotedValue()",
		// interfaces: all method names in the head, an unexported embedded
		// interface of the package expanded
		"type Doer interface { Do, Seal, private }",
		"type Doer interface, Do(string) (string, error)",
		"type Doer interface, embedded io.Closer",
		"type Doer interface, Seal(bool)",
		"type Empty interface {}",
		// other types, aliases
		"type Option func(*config)",
		"type State uint8",
		"type Duration = time.Duration",
		"type Handler = func(io.Writer, string)",
		// consts: iota groups repeat the type; iota is replaced by its value
		"const Closed State",
		"const Closed = 0",
		"const Open State",
		"const Open = 1",
		"const HalfOpen State",
		"const HalfOpen = 2",
		"const KB = 1 << (10 * (0 + 1))",
		"const MB = 1 << (10 * (1 + 1))",
		"const DefaultTimeout = 10 * time.Second",
		"const Typed time.Duration",
		"const Typed = 5",
		"const A = 1",
		`const B = "b"`,
		// vars: declared type, or the type of an obvious value
		"var ErrClosed error",
		"var ErrWrapped error",
		"var Default *Client",
		"var DefaultList *List[int]",
		"var Names []string",
		"var Count int",
		"var Ratio float64",
		"var Enabled bool",
		"var Zero State",
		"var Unknown",
		"var Y int",
		"func NewClient() *Client",
		// the other package of the module
		"pkg example.com/mod/sub, func Sub() int",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing line %q", w)
		}
	}
	for _, l := range lines {
		for _, bad := range []string{
			"unexported", "close", "numStates", "Apply",
			"Ignored", "WindowsOnly", "Future", "TestOnly", "Secret", "Exported", "Nested", "Data", "Hidden", "Scratch",
			"config struct", "embedded embedded", "sealer", "var x",
		} {
			if strings.Contains(l, bad) {
				t.Errorf("line %q should not be there (%s)", l, bad)
			}
		}
	}
	all := strings.Join(lines, "\n")
	for _, name := range []string{"Client struct, Name ", ") String() "} {
		if n := strings.Count(all, name); n != 1 {
			t.Errorf("%q recorded %d times, want 1 (the embedded struct's is shadowed)", name, n)
		}
	}
}

// TestSignatureChange: a changed signature fails the check with the old line
// removed and the new one added, side by side, and the way out.
func TestSignatureChange(t *testing.T) {
	root := copyModule(t)
	out := filepath.Join(t.TempDir(), "api", "mod.txt")
	if code, stdout, stderr := runAPICheck(t, "-root", root, "-out", out, "-w"); code != 0 || !strings.Contains(stdout, "wrote") {
		t.Fatalf("-w: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := runAPICheck(t, "-root", root, "-out", out); code != 0 {
		t.Fatalf("check right after -w: exit %d\n%s", code, stderr)
	}

	src := filepath.Join(root, "mod.go")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "func Lookup(key string) (string, bool)", "func Lookup(key, fallback string) (string, bool)", 1)
	edited = strings.Replace(edited, "var Count int", "var Total int", 1)
	if edited == string(data) {
		t.Fatal("the edit did not apply")
	}
	if err := os.WriteFile(src, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runAPICheck(t, "-root", root, "-out", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	wantInOrder := []string{
		"-pkg example.com/mod, func Lookup(string) (string, bool)\n" +
			"+pkg example.com/mod, func Lookup(string, string) (string, bool)\n",
		"+pkg example.com/mod, var Total int\n",
		changedMsg,
	}
	rest := stderr
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("stderr lacks (in order) %q:\n%s", w, stderr)
		}
		rest = rest[i+len(w):]
	}
	if !strings.Contains(stderr, "-pkg example.com/mod, var Count int\n") {
		t.Errorf("stderr lacks the removed var:\n%s", stderr)
	}
	if n := strings.Count(stderr, "\n+pkg ") + strings.Count(stderr, "\n-pkg "); n != 4 {
		t.Errorf("%d changed lines, want 4:\n%s", n, stderr)
	}
}

func TestMissingFile(t *testing.T) {
	root := copyModule(t)
	out := filepath.Join(t.TempDir(), "mod.txt")
	code, _, stderr := runAPICheck(t, "-root", root, "-out", out)
	if code != 1 || !strings.Contains(stderr, "does not exist") || !strings.Contains(stderr, "+pkg example.com/mod, func Lookup(string) (string, bool)") {
		t.Fatalf("exit %d, want 1 with every line added:\n%s", code, stderr)
	}
}

// TestNotCanonical: the right lines in the wrong order still fail, so the
// file stays exactly what -w writes and its diffs stay small.
func TestNotCanonical(t *testing.T) {
	root := copyModule(t)
	out := filepath.Join(t.TempDir(), "mod.txt")
	if code, _, stderr := runAPICheck(t, "-root", root, "-out", out, "-w"); code != 0 {
		t.Fatalf("-w: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[0], lines[1] = lines[1], lines[0]
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runAPICheck(t, "-root", root, "-out", out)
	if code != 1 || !strings.Contains(stderr, "not in the form -w writes") {
		t.Fatalf("exit %d, want 1 for a reordered file:\n%s", code, stderr)
	}
}

func TestModuleName(t *testing.T) {
	for path, want := range map[string]string{
		"github.com/tempestsdk/tempest":       "tempest",
		"github.com/tempestsdk/tempest/bench": "bench",
		"example.com/redis/v2":                "redis",
		"v2":                                  "v2",
	} {
		if got := moduleName(path); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestReadModFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]modFile{
		"module example.com/a\n":                              {path: "example.com/a"},
		"// comment\nmodule \"example.com/b\"\n\ngo 1.26.1\n": {path: "example.com/b", minor: 26},
		"module example.com/c // trailing\n\ngo 1.27 // x\n":  {path: "example.com/c", minor: 27},
		"modules example.com/d\n":                             {},
	} {
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readModFile(dir)
		if got != want || (want.path == "") != (err != nil) {
			t.Errorf("readModFile(%q) = %+v, %v; want %+v", content, got, err, want)
		}
	}
}
