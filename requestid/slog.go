package requestid

import (
	"context"
	"log/slog"
	"slices"
)

// AttrKey is the key of the attribute that [NewLogHandler] adds to log records.
const AttrKey = "request_id"

// NewLogHandler wraps h so that every record logged with a context that carries
// a request ID ([FromContext]) gets a top-level [AttrKey] attribute, whatever
// groups the logger has: a logger built with WithGroup("http")
// still writes request_id at the top, where log queries look for it, and
// keeps its own attributes inside "http". Records without an ID go to h
// unchanged. Log with the context-taking methods (InfoContext, LogAttrs, ...)
// so that the handler sees the request's context.
//
// The context's ID is written once, and wins: in a record that carries one,
// a top-level attribute keyed request_id, from Logger.With or from the record
// (also inside a group with an empty key, which handlers inline), is dropped.
// One inside a named group is another field (http.request_id) and is kept,
// and so is one that h carried before it was wrapped, which NewLogHandler cannot
// see.
//
// Wrapping a handler that NewLogHandler returned returns it as is, so the
// attribute is never added twice.
func NewLogHandler(h slog.Handler) slog.Handler {
	if h == nil {
		panic("requestid: NewLogHandler called with a nil slog.Handler")
	}
	if rh, ok := h.(*handler); ok {
		return rh
	}
	return &handler{inner: h, base: h}
}

// handler keeps two views of the wrapped handler. Records without a request
// ID take the fast path through inner, to which every WithAttrs and WithGroup
// call was applied. Records with one are rebuilt: request_id first, then the
// groups nested by hand, and go to base, which has only the attributes added
// before the first group, less any keyed request_id, so that request_id
// lands once, outside every group.
type handler struct {
	inner  slog.Handler // all WithAttrs and WithGroup calls applied
	base   slog.Handler // only the WithAttrs calls before the first WithGroup, request_id dropped
	split  bool         // base is not inner although there is no group: a request_id was dropped
	groups []group      // the WithGroup calls, in order; shared, never mutated
}

// group is one WithGroup call and the attributes added inside it before the
// next one.
type group struct {
	name  string
	attrs []slog.Attr // resolved, without empty attributes
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	inner := h.inner.WithAttrs(attrs)
	if len(h.groups) == 0 {
		top := withoutID(attrs)
		if !h.split && len(top) == len(attrs) {
			return &handler{inner: inner, base: inner} // one handler serves both
		}
		base := h.base
		if len(top) > 0 {
			base = base.WithAttrs(top)
		}
		return &handler{inner: inner, base: base, split: true}
	}
	groups := slices.Clone(h.groups)
	last := &groups[len(groups)-1]
	// Clip so that append copies: the old slice is shared with h.
	last.attrs = appendAttrs(slices.Clip(last.attrs), attrs)
	return &handler{inner: inner, base: h.base, groups: groups}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h // as the slog.Handler contract requires
	}
	return &handler{
		inner:  h.inner.WithGroup(name),
		base:   h.base,
		groups: append(slices.Clip(h.groups), group{name: name}),
	}
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	id, ok := FromContext(ctx)
	if !ok {
		return h.inner.Handle(ctx, r)
	}
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(slog.String(AttrKey, id))
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool {
			if a, ok := stripID(a); ok {
				nr.AddAttrs(a)
			}
			return true
		})
		return h.base.Handle(ctx, nr)
	}

	// Nest from the innermost group outwards. A group left with no attribute
	// is omitted, as the slog.Handler contract requires.
	content := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		content = appendAttrs(content, []slog.Attr{a})
		return true
	})
	for i := len(h.groups) - 1; i >= 0; i-- {
		g := h.groups[i]
		if len(g.attrs)+len(content) == 0 {
			continue
		}
		members := make([]slog.Attr, 0, len(g.attrs)+len(content))
		members = append(append(members, g.attrs...), content...)
		content = []slog.Attr{{Key: g.name, Value: slog.GroupValue(members...)}}
	}
	nr.AddAttrs(content...)
	return h.base.Handle(ctx, nr)
}

// appendAttrs appends attrs to dst with their values resolved (as built-in
// handlers resolve WithAttrs values when they are added), dropping empty
// attributes and empty groups so that a group holding only those is seen to
// be empty.
func appendAttrs(dst, attrs []slog.Attr) []slog.Attr {
	for _, a := range attrs {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			continue
		}
		if a.Value.Kind() == slog.KindGroup && len(a.Value.Group()) == 0 {
			continue
		}
		dst = append(dst, a)
	}
	return dst
}

// hasID reports whether a, at the top level, writes an AttrKey attribute:
// keyed so itself, or a group with an empty key (inlined by handlers) that
// holds one.
func hasID(a slog.Attr) bool {
	if a.Key == AttrKey {
		return true
	}
	if a.Key != "" {
		return false
	}
	v := a.Value.Resolve()
	return v.Kind() == slog.KindGroup && slices.ContainsFunc(v.Group(), hasID)
}

// stripID returns a without the AttrKey attributes it would write at the top
// level, and false when nothing is left of it.
func stripID(a slog.Attr) (slog.Attr, bool) {
	if !hasID(a) {
		return a, true
	}
	if a.Key == AttrKey {
		return slog.Attr{}, false
	}
	members := withoutID(a.Value.Resolve().Group())
	return slog.Attr{Value: slog.GroupValue(members...)}, len(members) > 0
}

// withoutID returns attrs less the AttrKey attributes they would write at the
// top level; attrs itself when there is none, so the common case allocates
// nothing.
func withoutID(attrs []slog.Attr) []slog.Attr {
	if !slices.ContainsFunc(attrs, hasID) {
		return attrs
	}
	out := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a, ok := stripID(a); ok {
			out = append(out, a)
		}
	}
	return out
}
