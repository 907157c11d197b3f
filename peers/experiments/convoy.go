package main

// The convoy experiment (crates/lab/src/experiments/convoy.rs): blocking round trips of an
// 8-byte word over loopback TCP to an echo server that sleeps 0.5 ms before each reply, alone,
// then beside one spinning goroutine started first. The echo server is this program again in a
// child process (echoArg), so it is no part of the measured runtime.

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	echoDelay = 500 * time.Microsecond
	// echoArg makes the program the echo server, on the listener it inherits as fd 3.
	echoArg = "__convoy-echo"
)

// convoyEcho is the echo server's process: one connection, each word back after echoDelay.
func convoyEcho() {
	listener, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "experiments: echo server: %v\n", err)
		os.Exit(1)
	}
	conn, err := listener.Accept()
	listener.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "experiments: echo server: %v\n", err)
		os.Exit(1)
	}
	word := make([]byte, 8)
	for {
		if _, err := io.ReadFull(conn, word); err != nil {
			return
		}
		// nanosleep(2), not time.Sleep: Go's timers wake through the netpoller's epoll_pwait,
		// whose timeout is whole milliseconds, and would make the delay 1 ms.
		delay := syscall.NsecToTimespec(echoDelay.Nanoseconds())
		_ = syscall.Nanosleep(&delay, nil)
		if _, err := conn.Write(word); err != nil {
			return
		}
	}
}

// startEcho starts the echo server's process and returns its address and its wait.
func startEcho() (string, func() error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		checkFailed("listen: %v", err)
	}
	file, err := listener.(*net.TCPListener).File()
	if err != nil {
		checkFailed("listener file: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		checkFailed("executable: %v", err)
	}
	cmd := exec.Command(self, echoArg)
	cmd.ExtraFiles = []*os.File{file}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		checkFailed("echo server: %v", err)
	}
	file.Close()
	addr := listener.Addr().String()
	listener.Close()
	return addr, cmd.Wait
}

// convoyPhase runs the round trips, beside a spinning goroutine if spinner, and returns the
// time per round trip.
func convoyPhase(rounds int, spinner bool) time.Duration {
	addr, wait := startEcho()
	var started, stop atomic.Bool
	done := make(chan uint64)
	if spinner {
		go func() {
			started.Store(true)
			x := uint64(1)
			for !stop.Load() {
				for range 100 {
					x = x*lcgA + lcgC
				}
			}
			done <- x
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !started.Load() {
			if time.Now().After(deadline) {
				checkFailed("the spinning goroutine did not start")
			}
			time.Sleep(time.Millisecond)
		}
	}
	conn, err := net.Dial("tcp", addr) // TCP_NODELAY is Go's default
	if err != nil {
		checkFailed("connect: %v", err)
	}
	word := make([]byte, 8)
	var sum uint64
	start := time.Now()
	for i := range rounds {
		binary.LittleEndian.PutUint64(word, uint64(i))
		if _, err := conn.Write(word); err != nil {
			checkFailed("write: %v", err)
		}
		if _, err := io.ReadFull(conn, word); err != nil {
			checkFailed("read: %v", err)
		}
		sum += binary.LittleEndian.Uint64(word)
	}
	elapsed := time.Since(start)
	conn.Close()
	stop.Store(true)
	if spinner {
		sink = <-done
	}
	if err := wait(); err != nil {
		checkFailed("echo server: %v", err)
	}
	if want := uint64(rounds * (rounds - 1) / 2); sum != want {
		checkFailed("sum of the words echoed: got %d, want %d", sum, want)
	}
	return elapsed / time.Duration(rounds)
}

func convoy(f *figures, opts options) {
	rounds := 200
	if opts.quick {
		rounds = 40
	}
	runtime.GOMAXPROCS(opts.cores)
	alone := convoyPhase(rounds, false)
	loaded := convoyPhase(rounds, true)
	f.add("round_trips", float64(rounds), "count")
	f.add("ms_per_rt_alone", ms(alone), "ms")
	f.add("ms_per_rt_loaded", ms(loaded), "ms")
	f.add("slowdown", float64(loaded)/float64(alone), "x")
}
