package breaker

import (
	"errors"
	"strconv"
	"time"
)

// ErrOpen is the sentinel for a call refused by an open circuit:
// errors.Is(err, ErrOpen) holds for every *OpenError.
var ErrOpen = errors.New("breaker: circuit open")

// OpenError is returned by Allow when the circuit refuses a call: it is open,
// or half-open with all its probe slots taken.
//
// One *OpenError is allocated per open period (and per half-open probe) and
// returned to every refused call of that period, so that failing fast
// allocates nothing. It is shared: do not modify it.
type OpenError struct {
	// Until is when a call may next be admitted: when the circuit
	// half-opens, or, while half-open probes are in flight, the deadline
	// of the one whose deadline comes first.
	Until time.Time
	// Generation is the generation of the state that refused the call.
	Generation uint64
}

// Error formats lazily, so refusing a call costs nothing until someone reads it.
func (e *OpenError) Error() string {
	return "breaker: circuit open until " + e.Until.Format(time.RFC3339Nano) +
		" (generation " + strconv.FormatUint(e.Generation, 10) + ")"
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }
