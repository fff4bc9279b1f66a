package main

import (
	"runtime"
	"syscall"
	"time"
)

// prSetTimerSlack is prctl's PR_SET_TIMERSLACK.
const prSetTimerSlack = 29

// preciseSleeper returns the generator's sleep. time.Sleep is too coarse for
// it on Linux: when every P is idle the runtime waits for its timers in
// epoll_pwait, whose timeout is in whole milliseconds, so at 2000 calls/s
// calls would start half a millisecond late on average and that lateness
// would land in every latency. Instead the calling goroutine is locked to
// its thread, the thread's timer slack is cut from the kernel's 50 µs to
// 1 ns, and it sleeps in nanosleep(2). The caller must be a goroutine of
// its own that exits without unlocking, so that the thread, with its
// changed slack, exits with it.
func preciseSleeper() sleeper {
	runtime.LockOSThread()
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0)
	return func(d time.Duration) {
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	}
}
