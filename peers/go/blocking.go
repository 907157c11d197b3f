package main

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	handoffGoroutines = 1000
	handoffBaseline   = 400 * time.Millisecond
	handoffBlock      = 200 * time.Millisecond
)

// blockingHandoff measures whether a blocking system call stalls the other
// goroutines of its P. Under GOMAXPROCS(1), 1,000 goroutines ping-pong in
// pairs over unbuffered channels; their round trips per second are counted
// for 400 ms, then again while one more goroutine sits in a 200 ms
// nanosleep(2), a real blocking system call (time.Sleep would only park the
// goroutine). Go's sysmon hands the P of a goroutine stuck in a system call
// to another thread. Figure: throughput_ratio, the rate during the call over
// the rate without it.
//
// The window "during the call" starts just before the call and ends 200 ms
// later, read by a sampler goroutine woken by a timer: the caller itself may
// wait long for a P once its call returns (it queues globally, behind the
// ping-pong), which is no part of the call.
func blockingHandoff() []figure {
	var roundTrips atomic.Uint64
	var stop atomic.Bool
	var wrong atomic.Int64
	var wg sync.WaitGroup
	wg.Add(handoffGoroutines)
	for range handoffGoroutines / 2 {
		ping, pong := make(chan uint64), make(chan uint64)
		go func() {
			defer wg.Done()
			for v := range ping {
				pong <- v + 1
			}
		}()
		go func() {
			defer wg.Done()
			defer close(ping)
			for i := uint64(0); !stop.Load(); i++ {
				ping <- i
				if <-pong != i+1 {
					wrong.Add(1)
					return
				}
				roundTrips.Add(1)
			}
		}()
	}

	c0, t0 := roundTrips.Load(), time.Now()
	time.Sleep(handoffBaseline)
	baseline := float64(roundTrips.Load()-c0) / time.Since(t0).Seconds()

	rate := make(chan float64, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c0, t0 := roundTrips.Load(), time.Now()
		go func() {
			time.Sleep(handoffBlock - time.Since(t0))
			rate <- float64(roundTrips.Load()-c0) / time.Since(t0).Seconds()
		}()
		ts := syscall.NsecToTimespec(handoffBlock.Nanoseconds())
		for {
			// EINTR (a signal of Go's own): sleep for the rest.
			if err := syscall.Nanosleep(&ts, &ts); err != syscall.EINTR {
				break
			}
		}
	}()
	during := <-rate

	stop.Store(true)
	wg.Wait()
	if wrong.Load() != 0 || baseline == 0 {
		fail("blocking-handoff: %d wrong echoes, baseline %.0f round trips/s", wrong.Load(), baseline)
	}
	logf("blocking-handoff: %.0f round trips/s without the call, %.0f during it", baseline, during)
	return []figure{{"throughput_ratio", during / baseline, "ratio"}}
}
