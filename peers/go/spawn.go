package main

import (
	"sync"
	"time"
)

const spawnCount = 1_000_000

// spawn measures the cost of a goroutine's whole life: 1,000,000 empty
// goroutines started in a loop, each calling wg.Done, then wg.Wait.
// Figure: total wall time divided by the count.
func spawn() []figure {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(spawnCount)
	for range spawnCount {
		go func() {
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return []figure{{"ns_per_goroutine", float64(elapsed.Nanoseconds()) / spawnCount, "ns"}}
}
