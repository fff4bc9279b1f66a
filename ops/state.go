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

	counts [3]int // open, half-open and closed origins, listed or not; not in the JSON
}

// originState is one origin of state.Origins.
type originState struct {
	Origin               string                   `json:"origin"`
	Breaker              *breaker.Snapshot        `json:"breaker,omitempty"`
	UntilHalfOpenSeconds *float64                 `json:"until_half_open_seconds,omitempty"`
	Budget               *httpclient.BudgetStatus `json:"budget,omitempty"`
}

// read collects the client's state at now: the union of the origins of
// Breakers and Budgets, sorted and cut to maxOrigins, and the give-ups.
// Every call it makes is a pure read.
func (h *handler) read(now time.Time) state {
	breakers := h.c.Breakers()
	budgets := h.c.Budgets()
	all := make([]originState, 0, max(len(breakers), len(budgets)))
	for origin, snap := range breakers {
		o := originState{Origin: origin, Breaker: &snap}
		if b, ok := budgets[origin]; ok {
			o.Budget = &b
		}
		if snap.State == breaker.Open && !snap.Until.IsZero() {
			s := math.Round(max(snap.Until.Sub(now), 0).Seconds()*1000) / 1000
			o.UntilHalfOpenSeconds = &s
		}
		all = append(all, o)
	}
	for origin, b := range budgets {
		if _, ok := breakers[origin]; !ok {
			all = append(all, originState{Origin: origin, Budget: &b})
		}
	}
	slices.SortFunc(all, func(a, b originState) int {
		return cmp.Or(cmp.Compare(rank(a.Breaker), rank(b.Breaker)), cmp.Compare(a.Origin, b.Origin))
	})
	var counts [3]int
	for _, o := range all {
		counts[rank(o.Breaker)]++
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
	}
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
