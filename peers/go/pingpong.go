package main

import "time"

const pingpongRounds = 1_000_000

// pingpong measures a round trip between two goroutines over two unbuffered
// channels: the main goroutine sends on ping, an echo goroutine answers on
// pong. Run as pingpong-1p under GOMAXPROCS(1), both share one P.
func pingpong() []figure {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	sum := 0
	start := time.Now()
	for i := range pingpongRounds {
		ping <- i
		sum += <-pong
	}
	elapsed := time.Since(start)
	close(ping)
	if want := pingpongRounds * (pingpongRounds - 1) / 2; sum != want {
		fail("pingpong: sum %d, want %d", sum, want)
	}
	return []figure{{"ns_per_round_trip", float64(elapsed.Nanoseconds()) / pingpongRounds, "ns"}}
}
