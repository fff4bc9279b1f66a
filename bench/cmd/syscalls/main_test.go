package main

import (
	"os"
	"path/filepath"
	"testing"
)

// strace -c's summary, with an errors column on some rows.
const straceSample = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 45.10    0.012000           3      4001           read
 30.00    0.008000           2      4000      1999 epoll_pwait
 20.00    0.005000           2      2001           write
  4.90    0.001000          10       100        50 futex
------ ----------- ----------- --------- --------- ----------------
100.00    0.026000           2     10102      2049 total
`

func TestReadCount(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.txt")
	if err := os.WriteFile(path, []byte(straceSample), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := readCount(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.total != 10102 || c.calls["read"] != 4001 || c.calls["epoll_pwait"] != 4000 || c.calls["futex"] != 100 || len(c.calls) != 4 {
		t.Fatalf("got %+v", c)
	}
	if err := os.WriteFile(path, []byte("nothing here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readCount(path); err == nil {
		t.Fatal("a file with no total parsed")
	}
}

func TestMedianAndRatio(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatalf("median %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatalf("median %v", m)
	}
	if r := ratio(6, 3, "tempest"); r != "2.00×" {
		t.Fatalf("ratio %q", r)
	}
	if r := ratio(6, 3, "raw"); r != "1" {
		t.Fatalf("raw's ratio %q", r)
	}
}
