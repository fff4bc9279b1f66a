package ops

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// state is the JSON of /state.json, documented in the package comment.
type state struct {
	GeneratedAt    time.Time                 `json:"generated_at"`
	Origins        []originState             `json:"origins"`
	OriginsTotal   int                       `json:"origins_total"`
	OriginsOmitted int                       `json:"origins_omitted"`
	GiveUps        []httpclient.GiveUpRecord `json:"give_ups"`
	Controls       bool                      `json:"controls"`

	counts    [3]int // open, half-open and closed origins, listed or not; not in the JSON
	concOn    bool   // the client has a concurrency limit (R75); not in the JSON
	saturated int    // origins whose limiter is saturated, listed or not; not in the JSON
}

// originState is one origin of state.Origins.
type originState struct {
	Origin               string                   `json:"origin"`
	Breaker              *breaker.Snapshot        `json:"breaker,omitempty"`
	UntilHalfOpenSeconds *float64                 `json:"until_half_open_seconds,omitempty"`
	Budget               *httpclient.BudgetStatus `json:"budget,omitempty"`
	Concurrency          *concurrency.Snapshot    `json:"concurrency,omitempty"`
}

// read collects the client's state at now: the union of the origins of
// Breakers, Budgets and ConcurrencyLimits, sorted and cut to maxOrigins,
// and the give-ups. Every call it makes is a pure read.
func (h *handler) read(now time.Time) state {
	breakers := h.c.Breakers()
	budgets := h.c.Budgets()
	concs := h.c.ConcurrencyLimits()
	all := make([]originState, 0, max(len(breakers), len(budgets), len(concs)))
	at := make(map[string]int, cap(all)) // origin -> index in all
	entry := func(origin string) int {
		i, ok := at[origin]
		if !ok {
			i = len(all)
			at[origin] = i
			all = append(all, originState{Origin: origin})
		}
		return i
	}
	for origin, snap := range breakers {
		o := &all[entry(origin)]
		o.Breaker = &snap
		if snap.State == breaker.Open && !snap.Until.IsZero() {
			s := math.Round(max(snap.Until.Sub(now), 0).Seconds()*1000) / 1000
			o.UntilHalfOpenSeconds = &s
		}
	}
	for origin, b := range budgets {
		all[entry(origin)].Budget = &b
	}
	for origin, cs := range concs {
		all[entry(origin)].Concurrency = &cs
	}
	slices.SortFunc(all, compareOrigins)
	var counts [3]int
	saturatedN := 0
	for _, o := range all {
		counts[rank(o.Breaker)]++
		if saturated(o.Concurrency) {
			saturatedN++
		}
	}
	listed := all[:min(len(all), h.cfg.maxOrigins)]
	giveUps := h.c.RecentGiveUps()
	if giveUps == nil {
		giveUps = []httpclient.GiveUpRecord{}
	}
	return state{
		GeneratedAt:    now,
		Origins:        slices.Clip(listed),
		OriginsTotal:   len(all),
		OriginsOmitted: len(all) - len(listed),
		GiveUps:        giveUps,
		Controls:       h.cfg.controls,
		counts:         counts,
		concOn:         concs != nil,
		saturated:      saturatedN,
	}
}

// compareOrigins orders the origins for the bound of WithMaxOrigins: open
// circuits first, then half-open, then closed (rank); within each, those
// whose concurrency limiter has callers queued (most first), then those
// with every slot taken, then by slots in flight (most first); then by
// name. Without a concurrency limit the order is rank, then name.
func compareOrigins(a, b originState) int {
	var ca, cb concurrency.Snapshot
	if a.Concurrency != nil {
		ca = *a.Concurrency
	}
	if b.Concurrency != nil {
		cb = *b.Concurrency
	}
	return cmp.Or(
		cmp.Compare(rank(a.Breaker), rank(b.Breaker)),
		cmp.Compare(cb.Queued, ca.Queued),
		cmp.Compare(full(b.Concurrency), full(a.Concurrency)),
		cmp.Compare(cb.InFlight, ca.InFlight),
		cmp.Compare(a.Origin, b.Origin),
	)
}

// full is 1 when every slot of the limiter is taken (a lowered limit may
// leave more in flight than it), else 0.
func full(s *concurrency.Snapshot) int {
	if s != nil && s.Limit > 0 && s.InFlight >= s.Limit {
		return 1
	}
	return 0
}

// saturated reports a limiter the page warns about: callers queued, or
// every slot taken (R75).
func saturated(s *concurrency.Snapshot) bool {
	return s != nil && (s.Queued > 0 || full(s) == 1)
}

// rank orders the states: open, half-open, closed (an origin with no
// breaker counts as closed).
func rank(s *breaker.Snapshot) int {
	if s == nil {
		return 2
	}
	switch s.State {
	case breaker.Open:
		return 0
	case breaker.HalfOpen:
		return 1
	}
	return 2
}

func (h *handler) serveJSON(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, h.read(time.Now()))
}

// writeJSON encodes v in full before writing anything, so that an encoding
// error is a clean 500.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		http.Error(w, "ops: encoding the state failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
