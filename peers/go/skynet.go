package main

import "time"

const (
	skynetLeaves = 1_000_000
	skynetSum    = skynetLeaves * (skynetLeaves - 1) / 2 // 499999500000
)

// skynet measures creating, scheduling and joining 1,111,111 goroutines:
// atemerev's skynet, a 10-ary tree over 1,000,000 leaves in which every inner
// node makes an unbuffered channel, spawns its 10 children, sums their 10
// answers and sends the sum to its parent. Figure: wall time of one tree.
func skynet() []figure {
	start := time.Now()
	c := make(chan int)
	go skynetNode(c, 0, skynetLeaves)
	sum := <-c
	elapsed := time.Since(start)
	if sum != skynetSum {
		fail("skynet: sum %d, want %d", sum, skynetSum)
	}
	return []figure{{"wall_ms", float64(elapsed.Nanoseconds()) / 1e6, "ms"}}
}

func skynetNode(c chan int, num, size int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	for i := range 10 {
		go skynetNode(rc, num+i*(size/10), size/10)
	}
	sum := 0
	for range 10 {
		sum += <-rc
	}
	c <- sum
}
