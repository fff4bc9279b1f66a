package httpclient

import (
	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/ratelimit"
)

// limitRecord is one queued look at a rate-limit record.
type limitRecord struct {
	origin string
	lim    *ratelimit.Limiter
	due    int64 // the stamp by which its limit has refilled
}

type record struct {
	origin string
	br     *breaker.Breaker
	due    int64 // the stamp at which it is looked at again
}

// fileLocked files s in the idle calendar under stamp st. r.mu is held.
func (r *registry) fileLocked(s *originState, st int64) {
	s.filed = st
	i := st % calSlots
	s.calIdx = len(r.cal[i])
	r.cal[i] = append(r.cal[i], s)
}

// unfileLocked takes s out of the idle calendar, so that a dropped state is
// not kept alive by it. r.mu is held.
func (r *registry) unfileLocked(s *originState) {
	if s.calIdx < 0 {
		return
	}
	i := s.filed % calSlots
	list := r.cal[i]
	last := len(list) - 1
	moved := list[last]
	list[s.calIdx] = moved
	moved.calIdx = s.calIdx
	list[last] = nil
	r.cal[i] = list[:last]
	s.calIdx = -1
}

// expireLocked drops the states unused for idleExpiry and the records
// whose time has come. Each state is looked at once per idle period it
// survives, so this is amortised O(1) per use. r.mu is held.
func (r *registry) expireLocked(now int64) {
	due := now - idleStamps - 1 // filed at or before due: unused for at least idleExpiry, if not used since
	for st := r.calNext; st <= due && st < r.calNext+calSlots; st++ {
		i := st % calSlots
		list := r.cal[i]
		r.cal[i] = nil
		for _, s := range list {
			s.calIdx = -1
		}
		for _, s := range list {
			switch {
			case s.dead.Load():
				// dropped already
			case s.filed > due:
				r.fileLocked(s, s.filed) // a later filing sharing the slot
			default:
				if used := s.used.Load(); used > s.filed {
					s.filed = used // used since it was filed
					if used > due {
						r.fileLocked(s, used)
						continue
					}
				}
				if r.busy(s) || !r.dropLocked(s, now) {
					r.fileLocked(s, now)
				}
			}
		}
	}
	r.calNext = max(r.calNext, due+1)
	r.expireRecordsLocked(now)
	r.expireLimitsLocked(now)
}

// evictLocked makes room for one state (GCLOCK): the eviction hand cools
// the states used since it last came by and passes over the busy ones, and
// drops the first cold one. Each cooling step was paid for by a use, so
// this is amortised O(1). When every state is busy the registry grows past
// its limit for now. r.mu is held.
func (r *registry) evictLocked(now int64) {
	for range (maxHeat+1)*len(r.ring) + 1 {
		if r.hand >= len(r.ring) {
			r.hand = 0
		}
		s := r.ring[r.hand]
		switch h := s.heat.Load(); {
		case h > 0:
			s.heat.Store(h - 1)
			r.hand++
		case r.busy(s):
			r.hand++
		case r.dropLocked(s, now):
			return
		default:
			r.hand++ // a hop took it just now
		}
	}
}

// busy reports a state that must not be dropped whatever its use: the
// base origin's, and one with hops in flight (callers waiting for a rate
// slot among them). A spent rate limit does not make a state busy: it
// outlives the state as a record (R69).
func (r *registry) busy(s *originState) bool {
	return s == r.c.baseState || s.hops.Load() > 0 || s.concBusy()
}

// concBusy reports a concurrency limiter with slots held or callers queued
// (R75): a body still open holds its slot after its hop has returned, and
// a fresh limiter would let the origin's calls past the limit.
func (s *originState) concBusy() bool {
	if s.conc == nil {
		return false
	}
	cs := s.conc.Snapshot()
	return cs.InFlight > 0 || cs.Queued > 0
}

// dropLocked removes s, unless a hop has just taken it (it then reports
// false). A circuit that has not closed since it opened is kept as a record
// (R58), so that a dead upstream keeps its break and its single probe.
// r.mu is held.
func (r *registry) dropLocked(s *originState, now int64) bool {
	s.dead.Store(true)
	if s.hops.Load() > 0 || s.concBusy() {
		s.dead.Store(false) // a hop took it meanwhile: busy after all
		return false
	}
	r.unfileLocked(s)
	delete(r.byOrigin, s.origin)
	for _, k := range s.keys {
		if r.dirty[k] == s {
			delete(r.dirty, k)
		}
	}
	last := len(r.ring) - 1
	moved := r.ring[last]
	r.ring[s.slot] = moved
	moved.slot = s.slot
	r.ring[last] = nil
	r.ring = r.ring[:last]
	if s.limiter != nil {
		// A limit spent past now is kept until it has refilled (R69).
		if due := int64(s.limiter.FullAt().Sub(r.epoch))/r.gran + 1; due > now {
			r.recordLimitLocked(s.origin, s.limiter, due)
		}
	}
	if s.br != nil {
		// Kept until idleExpiry after the later of its break's end and
		// its last use; an origin already idle that long goes outright.
		if sn := s.br.Snapshot(); sn.State != breaker.Closed {
			if due := max(r.recordDue(sn), s.used.Load()+idleStamps+1); due > now {
				r.recordLocked(s.origin, s.br, due)
			}
		}
	}
	return true
}

// recordLocked keeps br, whose circuit is not closed, for idleExpiry after
// its break ends. r.mu is held.
func (r *registry) recordLocked(origin string, br *breaker.Breaker, due int64) {
	r.records[origin] = br
	r.recq = append(r.recq, record{origin: origin, br: br, due: due})
	// Past the bound, the oldest records go first: memory stays bounded
	// even when more upstreams are down than the bound allows for.
	for len(r.records) > recordsPerOrigin*r.c.maxOrigins && r.recHead < len(r.recq) {
		old := r.recq[r.recHead]
		r.recq[r.recHead] = record{}
		r.recHead++
		if r.records[old.origin] == old.br {
			delete(r.records, old.origin)
		}
	}
	r.compactRecordsLocked()
}

// recordDue is the first stamp at which a circuit in state sn has been past
// its break (or its probe's bound) for idleExpiry. A half-open circuit
// with no probe out has ended its break already: 0.
func (r *registry) recordDue(sn breaker.Snapshot) int64 {
	if sn.Until.IsZero() {
		return 0
	}
	return int64(sn.Until.Sub(r.epoch))/r.gran + 1 + idleStamps + 1
}

// expireRecordsLocked drops the records whose circuit has been over its
// break for idleExpiry, and those made stale by their origin's return.
// r.mu is held.
func (r *registry) expireRecordsLocked(now int64) {
	for r.recHead < len(r.recq) {
		rec := r.recq[r.recHead]
		if r.records[rec.origin] == rec.br {
			if rec.due > now {
				break
			}
			if sn := rec.br.Snapshot(); sn.State != breaker.Closed && r.recordDue(sn) > now {
				// Re-opened (a late probe failed) or a probe is still
				// out: look again once that is over.
				r.recq = append(r.recq, record{origin: rec.origin, br: rec.br, due: r.recordDue(sn)})
			} else {
				delete(r.records, rec.origin)
			}
		}
		r.recq[r.recHead] = record{}
		r.recHead++
	}
	r.compactRecordsLocked()
}

// compactRecordsLocked reclaims the space of the queue's consumed head,
// and, once stale entries (of records gone or taken back, or looked at
// again) outnumber the records twice over, rebuilds the queue with one
// entry per record: a long break at its head must not let it grow. Each
// rebuild is paid for by the entries added since the last. r.mu is held.
func (r *registry) compactRecordsLocked() {
	if live := len(r.recq) - r.recHead; live > 2*len(r.records)+64 {
		at := make(map[string]int, len(r.records))
		out := make([]record, 0, len(r.records))
		for _, rec := range r.recq[r.recHead:] {
			if r.records[rec.origin] != rec.br {
				continue
			}
			if i, ok := at[rec.origin]; ok {
				out[i].due = max(out[i].due, rec.due)
				continue
			}
			at[rec.origin] = len(out)
			out = append(out, rec)
		}
		r.recq, r.recHead = out, 0
		return
	}
	if r.recHead > 64 && r.recHead*2 > len(r.recq) {
		n := copy(r.recq, r.recq[r.recHead:])
		clear(r.recq[n:])
		r.recq = r.recq[:n]
		r.recHead = 0
	}
}

// recordLimitLocked keeps an origin's rate limiter, spent past now, until
// due. Past recordsPerOrigin*maxOrigins records the oldest go first, so
// memory stays bounded: a caller who cycles more origins than that can
// have the oldest limits forgotten. r.mu is held.
func (r *registry) recordLimitLocked(origin string, lim *ratelimit.Limiter, due int64) {
	r.limits[origin] = lim
	r.limq = append(r.limq, limitRecord{origin: origin, lim: lim, due: due})
	for len(r.limits) > recordsPerOrigin*r.c.maxOrigins && r.limqHead < len(r.limq) {
		old := r.limq[r.limqHead]
		r.limq[r.limqHead] = limitRecord{}
		r.limqHead++
		if r.limits[old.origin] == old.lim {
			delete(r.limits, old.origin)
		}
	}
	r.compactLimitsLocked()
}

// expireLimitsLocked drops the rate-limit records whose limit has
// refilled. The queue is in order of recording, not of due, so a record
// with a long limit at the head holds back the look at those behind it,
// which are then dropped late: kept longer, never forgotten early.
// r.mu is held.
func (r *registry) expireLimitsLocked(now int64) {
	for r.limqHead < len(r.limq) {
		rec := r.limq[r.limqHead]
		if r.limits[rec.origin] == rec.lim {
			if rec.due > now {
				break
			}
			delete(r.limits, rec.origin)
		}
		r.limq[r.limqHead] = limitRecord{}
		r.limqHead++
	}
	r.compactLimitsLocked()
}

// compactLimitsLocked reclaims the queue's consumed head, and rebuilds it
// with one entry per record once stale entries outnumber the records twice
// over. r.mu is held.
func (r *registry) compactLimitsLocked() {
	live := len(r.limq) - r.limqHead
	switch {
	case live > 2*len(r.limits)+64:
		out := make([]limitRecord, 0, len(r.limits))
		for _, rec := range r.limq[r.limqHead:] {
			if r.limits[rec.origin] == rec.lim {
				out = append(out, rec)
				r.limits[rec.origin] = nil // marks it taken, so that it is kept once
			}
		}
		for _, rec := range out {
			r.limits[rec.origin] = rec.lim
		}
		r.limq, r.limqHead = out, 0
	case r.limqHead > 64 && r.limqHead > live:
		r.limq = append(r.limq[:0:0], r.limq[r.limqHead:]...)
		r.limqHead = 0
	}
}
