package httpclient

import (
	"sync"
	"time"
)

// BudgetStatus is one origin's retry budget over its window (R46), for an
// operator's page.
type BudgetStatus struct {
	Calls     int `json:"calls"`     // calls counted in the window
	Retries   int `json:"retries"`   // retries and hedges spent in the window
	Available int `json:"available"` // retries the budget would allow now
}

// Budgets returns the retry budget of every origin the client keeps state
// for, by normalised origin; nil when the budget is disabled. It is a pure
// read (R54).
func (c *Client) Budgets() map[string]BudgetStatus {
	bc := c.reg.bcfg
	if bc == nil {
		return nil
	}
	c.reg.mu.Lock()
	states := make([]*originState, 0, len(c.reg.byOrigin))
	for _, s := range c.reg.byOrigin {
		states = append(states, s)
	}
	c.reg.mu.Unlock()
	idx := bc.index()
	out := make(map[string]BudgetStatus, len(states))
	for _, s := range states {
		calls, retries := s.budget.win.Sum(idx)
		allowed := int64(bc.ratio*float64(calls)) + bc.reserve
		out[s.origin] = BudgetStatus{Calls: int(calls), Retries: int(retries), Available: int(max(allowed-retries, 0))}
	}
	return out
}

// GiveUpRecord is one call that stopped retrying before its attempts ran
// out (Hooks.GiveUp), as RecentGiveUps keeps it.
type GiveUpRecord struct {
	At      time.Time `json:"at"`
	Attempt Attempt   `json:"attempt"` // the last attempt; its Path has no query
	Stop    Stop      `json:"stop"`
}

// recentGiveUps is how many give-ups a client keeps for RecentGiveUps.
const recentGiveUps = 64

// giveUpRing keeps the latest give-ups, a fixed number of them.
type giveUpRing struct {
	mu   sync.Mutex
	ring [recentGiveUps]GiveUpRecord
	n    int // records written in all
}

func (r *giveUpRing) add(rec GiveUpRecord) {
	r.mu.Lock()
	r.ring[r.n%recentGiveUps] = rec
	r.n++
	r.mu.Unlock()
}

// RecentGiveUps returns the client's latest give-ups, newest first, at most
// 64 of them (R62).
func (c *Client) RecentGiveUps() []GiveUpRecord {
	r := &c.giveUps
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.n, recentGiveUps)
	out := make([]GiveUpRecord, n)
	for i := range n {
		out[i] = r.ring[(r.n-1-i)%recentGiveUps]
	}
	return out
}
