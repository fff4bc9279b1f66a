package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/tempestsdk/tempest/requestid"
)

// decodeJSON parses one JSON log line.
func decodeJSON(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	return m
}

// R27: without an ID in the context the wrapper must behave exactly like the
// JSON handler it wraps.
func TestNewHandler_R27_Slogtest_NoID(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			buf.Reset()
			return requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))
		},
		func(t *testing.T) map[string]any {
			m := decodeJSON(t, buf.Bytes())
			if _, ok := m[requestid.AttrKey]; ok {
				t.Errorf("record without an ID has %q: %s", requestid.AttrKey, buf.Bytes())
			}
			return m
		})
}

// withID is a handler that logs every record with a context carrying id, so
// that slogtest (which logs with context.Background) drives the wrapper's
// rebuilding path.
type withID struct {
	slog.Handler
	id string
}

func (h withID) Handle(ctx context.Context, r slog.Record) error {
	return h.Handler.Handle(requestid.NewContext(ctx, h.id), r)
}

func (h withID) WithAttrs(as []slog.Attr) slog.Handler {
	return withID{h.Handler.WithAttrs(as), h.id}
}

func (h withID) WithGroup(name string) slog.Handler {
	return withID{h.Handler.WithGroup(name), h.id}
}

// R27: with an ID, every slogtest case still holds (groups, empty groups,
// WithAttrs, Resolve, ...) and request_id is at the top level in each.
func TestNewHandler_R27_Slogtest_WithID(t *testing.T) {
	var buf bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			buf.Reset()
			return withID{requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil)), "rid-1"}
		},
		func(t *testing.T) map[string]any {
			m := decodeJSON(t, buf.Bytes())
			if got := m[requestid.AttrKey]; got != "rid-1" {
				t.Errorf("top-level %q = %v, want rid-1: %s", requestid.AttrKey, got, buf.Bytes())
			}
			delete(m, requestid.AttrKey) // slogtest knows nothing of it
			return m
		})
}

func TestNewHandler_R27_RequestIDStaysTopLevelUnderGroup(t *testing.T) {
	var buf bytes.Buffer
	ctx := requestid.NewContext(context.Background(), "abc-123")
	slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))).
		WithGroup("http").With("a", 1).
		InfoContext(ctx, "msg", "b", 2)

	m := decodeJSON(t, buf.Bytes())
	if got := m[requestid.AttrKey]; got != "abc-123" {
		t.Errorf("top-level request_id = %v, want abc-123: %s", got, buf.Bytes())
	}
	httpGroup, ok := m["http"].(map[string]any)
	if !ok {
		t.Fatalf("no http group: %s", buf.Bytes())
	}
	if httpGroup["a"] != 1.0 || httpGroup["b"] != 2.0 {
		t.Errorf("http group = %v, want a=1 and b=2 inside it", httpGroup)
	}
	if _, ok := httpGroup[requestid.AttrKey]; ok {
		t.Errorf("request_id also inside the http group: %s", buf.Bytes())
	}
	for _, k := range []string{"a", "b"} {
		if _, ok := m[k]; ok {
			t.Errorf("%q leaked to the top level: %s", k, buf.Bytes())
		}
	}
}

// R27 with the logger shapes met in practice: the result with an ID must be
// the result without one plus a top-level request_id, nothing else changed.
func TestNewHandler_R27_SameOutputPlusRequestID(t *testing.T) {
	dropTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	build := map[string]func(*slog.Logger) *slog.Logger{
		"plain":          func(l *slog.Logger) *slog.Logger { return l },
		"With":           func(l *slog.Logger) *slog.Logger { return l.With("svc", "api") },
		"WithGroup":      func(l *slog.Logger) *slog.Logger { return l.WithGroup("http") },
		"With,WithGroup": func(l *slog.Logger) *slog.Logger { return l.With("svc", "api").WithGroup("http").With("a", 1) },
		"nested": func(l *slog.Logger) *slog.Logger {
			return l.With("svc", "api").WithGroup("G").With("c", "d").WithGroup("H").With("e", "f").WithGroup("I")
		},
		"empty inner groups": func(l *slog.Logger) *slog.Logger {
			return l.WithGroup("G").WithGroup("H").With(slog.Group("empty"))
		},
		"empty group name": func(l *slog.Logger) *slog.Logger { return l.WithGroup("").With("k", "v") },
	}
	logs := map[string]func(context.Context, *slog.Logger){
		"no attrs": func(ctx context.Context, l *slog.Logger) { l.InfoContext(ctx, "m") },
		"attrs": func(ctx context.Context, l *slog.Logger) {
			l.InfoContext(ctx, "m", "x", 1, slog.Group("g", "y", 2), slog.Group("", "z", 3))
		},
		"empty attrs": func(ctx context.Context, l *slog.Logger) {
			l.LogAttrs(ctx, slog.LevelWarn, "m", slog.Attr{}, slog.Group("g"))
		},
	}
	for bn, b := range build {
		for ln, log := range logs {
			t.Run(bn+"/"+ln, func(t *testing.T) {
				var without, with bytes.Buffer
				opts := &slog.HandlerOptions{ReplaceAttr: dropTime}
				log(context.Background(), b(slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&without, opts)))))
				ctx := requestid.NewContext(context.Background(), "id-9")
				log(ctx, b(slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&with, opts)))))

				want := decodeJSON(t, without.Bytes())
				want[requestid.AttrKey] = "id-9"
				got := decodeJSON(t, with.Bytes())
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if !bytes.Equal(gj, wj) {
					t.Errorf("with an ID:\n got  %s\n want %s", gj, wj)
				}
			})
		}
	}
}

// R27: ReplaceAttr sees the wrapped logger's attributes with the same group
// path as without the wrapper, so redaction by group keeps working.
func TestNewHandler_R27_ReplaceAttrSeesGroups(t *testing.T) {
	var buf bytes.Buffer
	var paths []string
	opts := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == "secret" {
			paths = append(paths, strings.Join(groups, "."))
			return slog.String("secret", "REDACTED")
		}
		return a
	}}
	ctx := requestid.NewContext(context.Background(), "id-1")
	l := slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, opts))).WithGroup("http").With("secret", "s1")
	l.InfoContext(ctx, "m", "secret", "s2")
	// The wrapped handler may also see With's attribute when With is called.
	if len(paths) < 2 {
		t.Errorf("ReplaceAttr saw secret %d times, want at least 2", len(paths))
	}
	for _, p := range paths {
		if p != "http" {
			t.Errorf("ReplaceAttr saw secret under groups %q, want http", p)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("s1")) || bytes.Contains(buf.Bytes(), []byte("s2")) {
		t.Errorf("secret not redacted: %s", buf.Bytes())
	}
}

// R27: handlers derived from one logger do not share group state: appending
// to one branch's attributes must not show up in a sibling's records.
func TestNewHandler_R27_SiblingLoggersIndependent(t *testing.T) {
	var buf bytes.Buffer
	ctx := requestid.NewContext(context.Background(), "id")
	base := slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))).WithGroup("g").With("a", 1)
	left := base.With("l", 1)
	right := base.With("r", 1)
	left.InfoContext(ctx, "m")
	l := decodeJSON(t, buf.Bytes())
	buf.Reset()
	right.InfoContext(ctx, "m")
	r := decodeJSON(t, buf.Bytes())
	lg, _ := l["g"].(map[string]any)
	rg, _ := r["g"].(map[string]any)
	if _, ok := lg["r"]; ok {
		t.Errorf("left logger has right's attribute: %v", l)
	}
	if _, ok := rg["l"]; ok {
		t.Errorf("right logger has left's attribute: %v", r)
	}
	if lg["a"] != 1.0 || rg["a"] != 1.0 || lg["l"] != 1.0 || rg["r"] != 1.0 {
		t.Errorf("left %v, right %v; want a and their own attribute in g", l, r)
	}
}

func TestNewHandler_R27_EnabledDelegates(t *testing.T) {
	h := requestid.NewLogHandler(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := requestid.NewContext(context.Background(), "id")
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) {
		t.Error("Enabled does not follow the wrapped handler's level")
	}
	if h.WithGroup("g").Enabled(ctx, slog.LevelInfo) {
		t.Error("Enabled after WithGroup does not follow the wrapped handler's level")
	}
}

// R27: wrapping twice must not write request_id twice.
func TestNewHandler_R27_WrapTwiceAddsOnce(t *testing.T) {
	var buf bytes.Buffer
	h := requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))
	if requestid.NewLogHandler(h) != h {
		t.Error("NewLogHandler(NewLogHandler(h)) is a second wrapper")
	}
	slog.New(requestid.NewLogHandler(h)).InfoContext(requestid.NewContext(context.Background(), "id"), "m")
	if n := bytes.Count(buf.Bytes(), []byte(`"request_id"`)); n != 1 {
		t.Errorf("request_id written %d times: %s", n, buf.Bytes())
	}
}

func BenchmarkNewHandler(b *testing.B) {
	var buf bytes.Buffer
	l := slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("svc", "api").WithGroup("http").With("a", 1)
	ctx := requestid.NewContext(context.Background(), "abc-123")
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"noID", context.Background()}, {"withID", ctx}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				l.LogAttrs(bc.ctx, slog.LevelInfo, "m", slog.Int("status", 200))
			}
		})
	}
}
