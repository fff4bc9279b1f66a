package breaker

import "time"

// The API the HTTP client is written against: a change here breaks it.
var (
	_ func(Settings) (*Breaker, error)              = New
	_ func(*Breaker) (Ticket, error)                = (*Breaker).Allow
	_ func(*Breaker, time.Duration) (Ticket, error) = (*Breaker).AllowBounded
	_ func(*Breaker) State                          = (*Breaker).State
	_ func(*Breaker) Snapshot                       = (*Breaker).Snapshot
	_ func(*Breaker, time.Time)                     = (*Breaker).Trip
	_ func(*Breaker)                                = (*Breaker).Reset
	_ func(Ticket, Outcome)                         = Ticket.Done
	_ func(Ticket) State                            = Ticket.State
	_ func(Ticket) uint64                           = Ticket.Generation
	_ func(Ticket) bool                             = Ticket.Probe
	_ func(State) string                            = State.String
	_ func(Outcome) string                          = Outcome.String
	_ error                                         = ErrOpen
	_ error                                         = ErrInvalidSettings
	_ interface{ Is(error) bool }                   = (*OpenError)(nil)
	_                                               = OpenError{Until: time.Time{}, Generation: 0}
	_                                               = Change{From: Closed, To: Open, Generation: 0, At: time.Time{}, Until: time.Time{}}
	_                                               = [3]State{Closed, Open, HalfOpen}
	_                                               = [3]Outcome{Success, Failure, Ignore}
	_                                               = Snapshot{State: Closed, Generation: 0, ConsecutiveFailures: 0, Until: time.Time{}, ProbeInFlight: false}
	_                                               = Settings{FailureThreshold: 0, Recovery: 0, ProbeTimeout: 0, Now: time.Now, OnStateChange: func(Change) {}, OnPanic: func(any) {}}
)

// Added with the breaker modes (issue 4).
var (
	_ func(Ticket, Outcome, time.Duration) = Ticket.DoneTimed
	_ Cause                                = CauseFailureRatio
	_                                      = Settings{FailureRatio: 0.5, MinimumThroughput: 0, Window: 0, SlowCall: 0, MaxRecovery: 0, HalfOpenProbes: 0}
	_                                      = Snapshot{Calls: 0, Failures: 0, ProbesInFlight: 0, Breaks: 0}
	_                                      = [3]int{DefaultMinimumThroughput, DefaultHalfOpenProbes, int(DefaultWindow)}
)
