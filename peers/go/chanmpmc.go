package main

import (
	"sync"
	"time"
)

const (
	mpmcSenders   = 4
	mpmcReceivers = 4
	mpmcPerSender = 2_500_000
	mpmcMessages  = mpmcSenders * mpmcPerSender
	mpmcSum       = mpmcMessages * (mpmcMessages - 1) / 2
)

// chanMPMC measures the throughput of one contended buffered channel
// (capacity 1024): 4 senders send 2,500,000 ints each, 4 receivers receive
// until the channel is closed after the last sender finishes. The received
// values are summed as a checksum.
func chanMPMC() []figure {
	ch := make(chan int, 1024)
	sums := make([]int, mpmcReceivers)
	var senders, receivers sync.WaitGroup
	start := time.Now()
	for r := range mpmcReceivers {
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			sum := 0
			for v := range ch {
				sum += v
			}
			sums[r] = sum
		}()
	}
	for s := range mpmcSenders {
		senders.Add(1)
		go func() {
			defer senders.Done()
			base := s * mpmcPerSender
			for i := range mpmcPerSender {
				ch <- base + i
			}
		}()
	}
	senders.Wait()
	close(ch)
	receivers.Wait()
	elapsed := time.Since(start)

	total := 0
	for _, s := range sums {
		total += s
	}
	if total != mpmcSum {
		fail("chan-mpmc: sum %d, want %d", total, mpmcSum)
	}
	return []figure{{"mmsg_per_s", mpmcMessages / elapsed.Seconds() / 1e6, "Mmsg/s"}}
}
