package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/tempestsdk/tempest/requestid"
)

// topLevel returns the values of key among the top-level members of one JSON
// object, duplicates included (json.Unmarshal into a map keeps only the last).
func topLevel(t *testing.T, line []byte, key string) []any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line %q is not a JSON object", line)
	}
	var vals []any
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if k == key {
			vals = append(vals, v)
		}
	}
	return vals
}

// R27: when the logger or the record already carries a top-level request_id,
// the context's ID is the one written, once; the explicit one is dropped. An
// attribute inside a named group is another field (http.request_id) and stays.
func TestNewHandler_R27_RequestIDWrittenOnce(t *testing.T) {
	ctx := requestid.NewContext(context.Background(), "ctx-id")
	cases := map[string]struct {
		log       func(*slog.Logger)
		wantGroup any // the value of http.request_id, nil for none
	}{
		"With": {log: func(l *slog.Logger) {
			l.With(requestid.AttrKey, "with-id").InfoContext(ctx, "m")
		}},
		"With twice": {log: func(l *slog.Logger) {
			l.With(requestid.AttrKey, "a").With("k", "v").With(requestid.AttrKey, "b").InfoContext(ctx, "m")
		}},
		"record attr": {log: func(l *slog.Logger) {
			l.InfoContext(ctx, "m", requestid.AttrKey, "rec-id", "k", "v")
		}},
		"inline group (empty key)": {log: func(l *slog.Logger) {
			l.With(slog.Group("", requestid.AttrKey, "w")).InfoContext(ctx, "m", slog.Group("", requestid.AttrKey, "r", "k", "v"))
		}},
		"With, then a group": {log: func(l *slog.Logger) {
			l.With(requestid.AttrKey, "with-id").WithGroup("http").InfoContext(ctx, "m", "k", "v")
		}},
		"With, a group, an attr in it": {log: func(l *slog.Logger) {
			l.With(requestid.AttrKey, "with-id").WithGroup("http").InfoContext(ctx, "m", requestid.AttrKey, "in-group")
		}, wantGroup: "in-group"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))))
			got := topLevel(t, buf.Bytes(), requestid.AttrKey)
			if len(got) != 1 || got[0] != "ctx-id" {
				t.Errorf("top-level request_id values %v, want exactly [ctx-id]: %s", got, buf.Bytes())
			}
			if tc.wantGroup != nil {
				m := decodeJSON(t, buf.Bytes())
				if g, _ := m["http"].(map[string]any); g[requestid.AttrKey] != tc.wantGroup {
					t.Errorf("http.request_id = %v, want %v: %s", g[requestid.AttrKey], tc.wantGroup, buf.Bytes())
				}
			}
		})
	}

	// Without an ID in the context, records go through unchanged: the
	// logger's own request_id is written.
	var buf bytes.Buffer
	slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With(requestid.AttrKey, "own").InfoContext(context.Background(), "m")
	if got := topLevel(t, buf.Bytes(), requestid.AttrKey); len(got) != 1 || got[0] != "own" {
		t.Errorf("no ID in the context: request_id values %v, want [own]", got)
	}
}
