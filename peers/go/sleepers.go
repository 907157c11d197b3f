package main

import (
	"sync"
	"time"
)

const (
	sleeperCount = 100_000
	sleepFor     = 100 * time.Millisecond
)

// sleepers measures timers at scale: 100,000 goroutines each sleep 100 ms,
// and the main goroutine waits for all of them. Figures: wall time, and the
// process's peak RSS (VmHWM) afterwards; bench runs every repetition in a
// fresh process so that the high-water mark is that repetition's own.
func sleepers() []figure {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(sleeperCount)
	for range sleeperCount {
		go func() {
			defer wg.Done()
			time.Sleep(sleepFor)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	hwm := procStatusKB("VmHWM")
	return []figure{
		{"wall_ms", float64(elapsed.Nanoseconds()) / 1e6, "ms"},
		{"peak_rss_mib", float64(hwm) / 1024, "MiB"},
	}
}
