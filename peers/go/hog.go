package main

import (
	"sync"
	"sync/atomic"
	"time"
)

const (
	hogSpin  = 2 * time.Second
	hogTick  = time.Millisecond
	hogCalib = 1 << 24 // spin iterations per calibration run
)

// hogFairness measures how long a CPU hog can delay a ticker on one P. Under
// GOMAXPROCS(1) one goroutine spins for 2 s in a loop with no function call
// (so no preemption point but Go's signal-based asynchronous preemption),
// while another sleeps 1 ms in a loop and records the worst delay beyond
// 1 ms. Figure: worst_tick_delay_ms. Run as hog-fairness-noasync in a child
// process with GODEBUG=asyncpreemptoff=1, the ticker waits for the whole spin.
//
// The spin cannot read the clock (time.Now is a call, and a call is a
// synchronous preemption point), so its length is calibrated beforehand: the
// iterations for 2 s are counted from the fastest of three timed runs.
func hogFairness() []figure {
	iterations := uint64(float64(hogCalib) * float64(hogSpin) / float64(spinCalibration()))

	var hogDone atomic.Bool
	var worst time.Duration
	ticks := 0
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		close(started)
		for !hogDone.Load() {
			t0 := time.Now()
			time.Sleep(hogTick)
			if late := time.Since(t0) - hogTick; late > worst {
				worst = late
			}
			ticks++
		}
	}()
	// The ticker is asleep in its first tick before the hog starts.
	<-started
	var spun time.Duration
	var sink uint64
	go func() {
		defer wg.Done()
		start := time.Now()
		sink = spin(iterations)
		spun = time.Since(start)
		hogDone.Store(true)
	}()
	wg.Wait()
	if ticks == 0 || sink == 0 {
		fail("hog-fairness: %d ticks, spin result %d", ticks, sink)
	}
	logf("hog-fairness: hog spun %v, ticker ticked %d times", spun.Round(time.Millisecond), ticks)
	return []figure{{"worst_tick_delay_ms", float64(worst.Nanoseconds()) / 1e6, "ms"}}
}

// spinCalibration returns the fastest of three timed runs of spin(hogCalib).
func spinCalibration() time.Duration {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		spin(hogCalib)
		best = min(best, time.Since(start))
	}
	return best
}

// spin is the hog: n steps of a linear congruential generator, a loop with no
// call in it. It returns the generator's state so the loop is not removed
// (the state is odd, never 0).
//
//go:noinline
func spin(n uint64) uint64 {
	x := uint64(1)
	for i := uint64(0); i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x | 1
}
