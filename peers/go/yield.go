package main

import (
	"runtime"
	"time"
)

const yieldCount = 10_000_000

// yield measures one trip through the scheduler: a single goroutine calls
// runtime.Gosched 10,000,000 times. Run as yield-1p under GOMAXPROCS(1).
func yield() []figure {
	start := time.Now()
	for range yieldCount {
		runtime.Gosched()
	}
	elapsed := time.Since(start)
	return []figure{{"ns_per_yield", float64(elapsed.Nanoseconds()) / yieldCount, "ns"}}
}
