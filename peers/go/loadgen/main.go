// Command loadgen is the load generator shared by every TCP echo server the
// project measures (Go's `bench serve-echo`, the Tokio peer, `schedlab serve
// goroutines echo`), so that they are all driven the same way.
//
//	loadgen -addr 127.0.0.1:PORT -conns 100 -msg 64 -duration 3s -model go
//
// It opens -conns connections; on each, one goroutine sends a -msg byte
// message, reads the echo back in full and checks every byte, in a loop. After
// -warmup (0.5 s) it counts round trips and records each one's latency for
// -duration, then prints on stdout, in the project's result-line format,
//
//	<model> echo-c<conns> round_trips_per_s <v> rt/s
//	<model> echo-c<conns> p99_us <v> us
//
// A wrong byte, a short read or any connection error exits non-zero.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	phaseWarmup = iota
	phaseMeasure
	phaseStop
)

func main() {
	addr := flag.String("addr", "", "host:port of the echo server (required)")
	conns := flag.Int("conns", 100, "connections, each with one message in flight")
	msg := flag.Int("msg", 64, "message size in bytes")
	duration := flag.Duration("duration", 3*time.Second, "how long to measure")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "how long to run before measuring")
	model := flag.String("model", "go", "model name for the result lines")
	flag.Parse()
	if *addr == "" || *conns < 1 || *msg < 1 || *duration <= 0 || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	workload := fmt.Sprintf("echo-c%d", *conns)

	cs := make([]net.Conn, *conns)
	for i := range cs {
		c, err := dial(*addr)
		if err != nil {
			fail("%s: connection %d of %d: %v", workload, i+1, *conns, err)
		}
		cs[i] = c
	}

	var phase atomic.Int32
	latencies := make([][]time.Duration, len(cs))
	counts := make([]uint64, len(cs))
	errs := make(chan error, len(cs))
	var wg sync.WaitGroup
	wg.Add(len(cs))
	for i, c := range cs {
		go func() {
			defer wg.Done()
			n, lat, err := client(c, i, *msg, &phase)
			counts[i], latencies[i] = n, lat
			if err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
			}
		}()
	}

	time.Sleep(*warmup)
	phase.Store(phaseMeasure)
	start := time.Now()
	time.Sleep(*duration)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		fail("%s: %v", workload, err)
	}
	for _, c := range cs {
		c.Close()
	}

	var total uint64
	var all []time.Duration
	for i := range cs {
		total += counts[i]
		all = append(all, latencies[i]...)
	}
	if total == 0 {
		fail("%s: no round trip completed in %v", workload, *duration)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) / 1e3
	}
	fmt.Fprintf(os.Stderr, "loadgen: %s %s: %d round trips in %v; latency p50 %.1f us, p99 %.1f us, max %.1f us\n",
		*model, workload, total, elapsed.Round(time.Millisecond), pct(0.5), pct(0.99), pct(1))
	fmt.Printf("%s %s round_trips_per_s %s rt/s\n", *model, workload, format(float64(total)/elapsed.Seconds()))
	fmt.Printf("%s %s p99_us %s us\n", *model, workload, format(pct(0.99)))
}

// dial connects to addr, retrying for a while when the server's accept queue
// overflows (a loaded server may be slow to accept 1,000 connections).
func dial(addr string) (net.Conn, error) {
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			return c, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// client runs round trips on c until the phase is phaseStop, checking every
// echoed byte. It returns the round trips completed while measuring and their
// latencies.
func client(c net.Conn, id, size int, phase *atomic.Int32) (uint64, []time.Duration, error) {
	out := make([]byte, size)
	in := make([]byte, size)
	var n uint64
	lat := make([]time.Duration, 0, 1024)
	for seq := 0; ; seq++ {
		p := phase.Load()
		if p == phaseStop {
			return n, lat, nil
		}
		// A pattern that differs between connections and between messages.
		for j := range out {
			out[j] = byte(id*7 + seq*13 + j)
		}
		t0 := time.Now()
		if _, err := c.Write(out); err != nil {
			return n, lat, err
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return n, lat, err
		}
		d := time.Since(t0)
		if !bytes.Equal(in, out) {
			return n, lat, fmt.Errorf("message %d: echoed %x, sent %x", seq, in, out)
		}
		if p == phaseMeasure {
			n++
			lat = append(lat, d)
		}
	}
}

// format keeps about four significant digits, as the bench program does.
func format(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(1)
}
