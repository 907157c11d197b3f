package main

import (
	"sync"
	"time"
)

const idleCount = 100_000

// idleMemory measures what a parked goroutine costs in memory: the growth of
// VmRSS when 100,000 goroutines are blocked receiving on one shared
// unbuffered channel, divided by their count. bench runs every repetition in
// a fresh process.
func idleMemory() []figure {
	before := procStatusKB("VmRSS")
	ch := make(chan struct{})
	var ready sync.WaitGroup
	ready.Add(idleCount)
	for range idleCount {
		go func() {
			ready.Done()
			<-ch
		}()
	}
	ready.Wait()
	time.Sleep(100 * time.Millisecond) // let the last ones park
	after := procStatusKB("VmRSS")
	close(ch)
	return []figure{{"bytes_per_goroutine", float64(after-before) * 1024 / idleCount, "B"}}
}
