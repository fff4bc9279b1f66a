// Package docstest checks the project's documentation, so that it cannot
// drift from the code: every Go block in README.md and docs/*.md must be
// quoted from a Go file that compiles and runs in `make test` (an examples/
// program, or a test file with Example functions), and every relative link
// must lead to a file that exists.
//
// A Go block names its source on the line just before it:
//
//	<!-- source: examples/basic/main.go -->
//	```go
//	client, err := httpclient.New(*upstream, httpclient.WithTimeout(10*time.Second))
//	...
//	```
//
// Each non-blank line of the block, with leading and trailing spaces and tabs
// trimmed, must be a line of the source file, and the lines must come in the
// file's order (gaps allowed). A line that is just "..." marks an elision and
// is skipped. The Examples the docs quote live with the package they
// document (httpclient/example_docs_test.go), where go doc shows them.
//
// It also checks that every rule of docs/semantics.md (R1, R2, ...) is
// named by at least one test, benchmark, fuzz test or Example.
//
// The package has no code of its own: the checks are its tests.
package docstest
