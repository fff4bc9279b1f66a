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
// is skipped. The examples that only the docs quote live in this package's
// example_test.go.
//
// The package has no code of its own: the checks are its tests.
package docstest
