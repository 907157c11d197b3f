// Command experiments runs the essay's experiments on the real Go runtime (the "go" peer of the
// goroutines crate).
//
// Usage:
//
//	experiments <experiment> [--quick] [--cores N]
//
// It runs ONE experiment and prints its figures as result lines on stdout,
// "go <experiment> <metric> <value> <unit>", with the metrics of the lab's Rust experiments
// (crates/lab/src/experiments/*.rs, whose essays define each one), at the Rust sizes unless
// noted. `schedlab peers` builds it once and runs each experiment in a fresh process. Exit
// status: 0 with figures, 1 when a check fails, 2 on a usage error.
//
//	parallelism  chunks of 1,000,000 steps of Knuth's MMIX LCG (cpu_parallel.rs), 32 (quick) /
//	             128 chunks, on W = 1 .. cores goroutines under GOMAXPROCS(W) taking chunks from
//	             an atomic counter; best of 3 / 5 repetitions going round the worker counts:
//	             wall_ms_w<W>, speedup_w<W>.
//	concurrency  N = 2,000 / 10,000 goroutines each in time.Sleep(100 ms), GOMAXPROCS(cores):
//	             tasks, wall_ms, floor_ms, in_flight_max, os_threads_max, processes_max. The
//	             sampler is a goroutine reading /proc every 5 ms: no thread of its own, so nothing
//	             is subtracted.
//	preemption   under GOMAXPROCS(1), a hog spinning 100 / 200 ms in a loop with no call (so only
//	             Go's signal-based asynchronous preemption can stop it; the spin cannot read the
//	             clock, a call, so its length is calibrated beforehand as peers/go/hog.go does)
//	             beside a ticker in time.Sleep(1 ms): worst_tick_delay_ms, hog_ms, ticks.
//	switching    under GOMAXPROCS(1): ns_per_yield (runtime.Gosched, 4,000,000 / 400,000) and
//	             ns_per_round_trip (two unbuffered channels between two goroutines, 1,000,000 /
//	             200,000): more than the Rust 2,000,000 / 200,000 yields and 200,000 / 50,000
//	             round trips, so that each full run lasts 0.2 s or more.
//	blocking     under GOMAXPROCS(1), syscall.Nanosleep of 200 ms (a real blocking system call:
//	             sysmon hands the P to another thread) beside the ticker: worst_tick_delay_ms,
//	             call_ms, ticks.
//	spawn        N = 20,000 / 200,000 empty goroutines started, then a WaitGroup waited on,
//	             GOMAXPROCS(cores): ns_per_task, tasks.
//	memory       N = 10,000 / 100,000 goroutines parked on one channel: VmRSS growth over N,
//	             read 100 ms after the last said it started: bytes_per_task, tasks.
//	handoff      N = 2,000 / 20,000 tiny tasks (n -> n) handed to a worker goroutine over an
//	             unbuffered request channel, the result back over a reply channel, one at a
//	             time, GOMAXPROCS(cores): us_per_task, tasks.
//	convoy       R = 40 / 200 blocking round trips of an 8-byte word over loopback TCP to an
//	             echo server (this program in a child process) that sleeps 0.5 ms before each
//	             reply, alone, then beside one spinning goroutine started first,
//	             GOMAXPROCS(cores): round_trips, ms_per_rt_alone, ms_per_rt_loaded, slowdown
//	             (convoy.go).
//	startup      prints the first task's answer as soon as it has it, a goroutine's result
//	             received on a channel: "go startup answer 42 count". The figure,
//	             exec_to_result_us, is taken by the parent from outside: schedlab peers times
//	             fresh processes of this program from spawn to that line, as the lab times its
//	             own models (crates/lab/src/experiments/startup.rs), so Go's runtime start
//	             before main is in it.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	itersPerChunk = 1_000_000
	lcgA          = 6364136223846793005
	lcgC          = 1442695040888963407
	wait          = 100 * time.Millisecond
	tick          = time.Millisecond
	blockingCall  = 200 * time.Millisecond
	settle        = 100 * time.Millisecond
	sampleEvery   = 5 * time.Millisecond
)

// checksums: the sum over c < n of chunk(c), as crates/lab/src/workloads/cpu_parallel.rs
// computes it.
var checksums = map[uint64]uint64{32: 34002847930, 128: 136558059771}

var experiments = []string{"parallelism", "concurrency", "preemption", "switching", "blocking", "spawn", "memory", "handoff", "convoy", "startup"}

type options struct {
	quick bool
	cores int
}

type figures struct {
	experiment string
	lines      []string
}

func (f *figures) add(metric string, value float64, unit string) {
	text := strings.TrimRight(strings.TrimRight(strconv.FormatFloat(value, 'f', 3, 64), "0"), ".")
	if text == "-0" {
		text = "0"
	}
	f.lines = append(f.lines, fmt.Sprintf("go %s %s %s %s", f.experiment, metric, text, unit))
}

// checkFailed ends the run with status 1: its figures would be wrong.
func checkFailed(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "experiments: go: check failed: "+format+"\n", args...)
	os.Exit(1)
}

func usage(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "experiments: "+format+"\n", args...)
	fmt.Fprintf(os.Stderr, "usage: experiments <experiment> [--quick] [--cores N]\n  experiments: %s\n",
		strings.Join(experiments, ", "))
	os.Exit(2)
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == echoArg {
		convoyEcho()
		return
	}
	opts := options{cores: runtime.NumCPU()}
	var words []string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--quick":
			opts.quick = true
		case arg == "--cores" || strings.HasPrefix(arg, "--cores="):
			value, found := strings.CutPrefix(arg, "--cores=")
			if !found {
				if i+1 >= len(args) {
					usage("--cores needs a value")
				}
				i++
				value = args[i]
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				usage("--cores %q: expected a whole number of at least 1", value)
			}
			opts.cores = n
		case strings.HasPrefix(arg, "-"):
			usage("unknown flag %q", arg)
		default:
			words = append(words, arg)
		}
	}
	if len(words) != 1 {
		usage("expected one experiment")
	}
	f := &figures{experiment: words[0]}
	switch words[0] {
	case "parallelism":
		parallelism(f, opts)
	case "concurrency":
		concurrency(f, opts)
	case "preemption":
		besideTicker(f, opts, "spin")
	case "switching":
		switching(f, opts)
	case "blocking":
		besideTicker(f, opts, "block")
	case "spawn":
		spawn(f, opts)
	case "memory":
		memory(f, opts)
	case "handoff":
		handoff(f, opts)
	case "convoy":
		convoy(f, opts)
	case "startup":
		startup(f)
	default:
		usage("unknown experiment %q", words[0])
	}
	fmt.Println(strings.Join(f.lines, "\n"))
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// startup: the first task's answer, a goroutine's result received on a channel. The parent
// times this process from spawn to the answer line (see the header).
func startup(f *figures) {
	answer := make(chan uint64)
	go func() { answer <- 42 }()
	f.add("answer", float64(<-answer), "count")
}

// ------------------------------------------------------------------------------------ /proc

func statusField(pid, name string) (int64, error) {
	text, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(text), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				return strconv.ParseInt(fields[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%s/status", name, pid)
}

func osThreads() int {
	n, err := statusField("self", "Threads")
	if err != nil {
		checkFailed("%v", err)
	}
	return int(n)
}

func rssBytes() int64 {
	n, err := statusField("self", "VmRSS")
	if err != nil {
		checkFailed("%v", err)
	}
	return n * 1024
}

func descendantProcesses() int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		checkFailed("%v", err)
	}
	children := map[int][]int{}
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		text, err := os.ReadFile("/proc/" + entry.Name() + "/stat")
		if err != nil {
			continue // it exited meanwhile
		}
		s := string(text)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	count, unvisited := 0, []int{os.Getpid()}
	for len(unvisited) > 0 {
		pid := unvisited[len(unvisited)-1]
		unvisited = unvisited[:len(unvisited)-1]
		count += len(children[pid])
		unvisited = append(unvisited, children[pid]...)
		delete(children, pid)
	}
	return count
}

type span struct{ begin, end int64 }

func inFlightMax(spans []span) int {
	type edge struct{ at, step int64 }
	edges := make([]edge, 0, 2*len(spans))
	for _, s := range spans {
		edges = append(edges, edge{s.begin, 1}, edge{s.end, -1})
	}
	// Ends sort before begins at the same instant: touching intervals do not overlap.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].step < edges[j].step
	})
	now, most := int64(0), int64(0)
	for _, e := range edges {
		now += e.step
		most = max(most, now)
	}
	return int(most)
}

// ------------------------------------------------------------------------------ experiments

func chunk(c uint64) uint64 {
	x := c
	for range itersPerChunk {
		x = x*lcgA + lcgC
	}
	return x >> 33
}

func parallelism(f *figures, opts options) {
	chunks, reps := uint64(128), 5
	if opts.quick {
		chunks, reps = 32, 3
	}
	best := make([]time.Duration, opts.cores+1)
	for w := range best {
		best[w] = time.Duration(1<<63 - 1)
	}
	for range reps {
		for w := 1; w <= opts.cores; w++ {
			runtime.GOMAXPROCS(w)
			start := time.Now()
			var next atomic.Uint64
			var total atomic.Uint64
			var wg sync.WaitGroup
			for range w {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sum := uint64(0)
					for c := next.Add(1) - 1; c < chunks; c = next.Add(1) - 1 {
						sum += chunk(c)
					}
					total.Add(sum)
				}()
			}
			wg.Wait()
			best[w] = min(best[w], time.Since(start))
			if got := total.Load(); got != checksums[chunks] {
				checkFailed("checksum of %d chunks on %d goroutines: got %d, want %d", chunks, w, got, checksums[chunks])
			}
		}
	}
	for w := 1; w <= opts.cores; w++ {
		f.add(fmt.Sprintf("wall_ms_w%d", w), ms(best[w]), "ms")
		f.add(fmt.Sprintf("speedup_w%d", w), float64(best[1])/float64(best[w]), "x")
	}
}

func concurrency(f *figures, opts options) {
	count := 10_000
	if opts.quick {
		count = 2_000
	}
	runtime.GOMAXPROCS(opts.cores)
	var stop atomic.Bool
	threads, processes := 0, 0
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for !stop.Load() {
			threads = max(threads, osThreads())
			processes = max(processes, descendantProcesses())
			time.Sleep(sampleEvery)
		}
	}()
	start := time.Now()
	spans := make([]span, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			begin := time.Since(start)
			time.Sleep(wait)
			spans[i] = span{int64(begin), int64(time.Since(start))}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	stop.Store(true)
	<-sampled
	for _, s := range spans {
		if time.Duration(s.end-s.begin) < wait {
			checkFailed("a wait of %v returned after %v", wait, time.Duration(s.end-s.begin))
		}
	}
	f.add("tasks", float64(count), "count")
	f.add("wall_ms", ms(wall), "ms")
	f.add("floor_ms", ms(wait), "ms")
	f.add("in_flight_max", float64(inFlightMax(spans)), "count")
	f.add("os_threads_max", float64(threads), "count")
	f.add("processes_max", float64(processes), "count")
}

// spin is the hog: n steps of the LCG in a loop with no call in it, so no synchronous
// preemption point. It returns the generator's state so the loop is not removed.
//
//go:noinline
func spin(n uint64) uint64 {
	x := uint64(1)
	for i := uint64(0); i < n; i++ {
		x = x*lcgA + lcgC
	}
	return x
}

// spinIterations calibrates spin: the steps that take `lasts`, from the fastest of three runs.
func spinIterations(lasts time.Duration) uint64 {
	const calibration = 1 << 22
	fastest := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		spin(calibration)
		fastest = min(fastest, time.Since(start))
	}
	return uint64(float64(calibration) * float64(lasts) / float64(max(fastest, 1)))
}

var sink uint64

func besideTicker(f *figures, opts options, kind string) {
	lasts := blockingCall
	if kind == "spin" {
		lasts = 200 * time.Millisecond
		if opts.quick {
			lasts = 100 * time.Millisecond
		}
	}
	iterations := spinIterations(lasts)
	runtime.GOMAXPROCS(1)
	var done atomic.Bool
	var worst time.Duration
	ticks, early := 0, false
	asleep := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for first := true; ; first = false {
			t0 := time.Now()
			if first {
				close(asleep)
			}
			time.Sleep(tick)
			took := time.Since(t0)
			early = early || took < tick
			worst = max(worst, took-tick)
			ticks++
			if done.Load() {
				return
			}
		}
	}()
	// The ticker is asleep in its first tick before the busy goroutine starts.
	<-asleep
	var took time.Duration
	go func() {
		defer wg.Done()
		start := time.Now()
		if kind == "spin" {
			sink = spin(iterations)
		} else {
			ts := syscall.NsecToTimespec(int64(lasts))
			for {
				// EINTR (a preemption signal) leaves the rest in ts: sleep on.
				err := syscall.Nanosleep(&ts, &ts)
				if err != syscall.EINTR {
					if err != nil {
						checkFailed("nanosleep: %v", err)
					}
					break
				}
			}
		}
		took = time.Since(start)
		done.Store(true)
	}()
	wg.Wait()
	if ticks == 0 || early {
		checkFailed("the ticker ticked %d times (early: %v)", ticks, early)
	}
	if kind == "block" && took < lasts {
		checkFailed("nanosleep of %v returned after %v", lasts, took)
	}
	f.add("worst_tick_delay_ms", ms(worst), "ms")
	if kind == "spin" {
		f.add("hog_ms", ms(took), "ms")
	} else {
		f.add("call_ms", ms(took), "ms")
	}
	f.add("ticks", float64(ticks), "count")
}

func switching(f *figures, opts options) {
	yields, rounds := 4_000_000, 1_000_000
	if opts.quick {
		yields, rounds = 400_000, 200_000
	}
	runtime.GOMAXPROCS(1)
	start := time.Now()
	for range yields {
		runtime.Gosched()
	}
	yieldNs := float64(time.Since(start).Nanoseconds())
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	start = time.Now()
	total := 0
	for i := range rounds {
		ping <- i
		total += <-pong
	}
	roundTripNs := float64(time.Since(start).Nanoseconds())
	close(ping)
	<-pong
	if total != rounds*(rounds-1)/2 {
		checkFailed("sum of the values bounced: got %d, want %d", total, rounds*(rounds-1)/2)
	}
	f.add("ns_per_yield", yieldNs/float64(yields), "ns")
	f.add("ns_per_round_trip", roundTripNs/float64(rounds), "ns")
}

func spawn(f *figures, opts options) {
	count := 200_000
	if opts.quick {
		count = 20_000
	}
	runtime.GOMAXPROCS(opts.cores)
	var joined atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range count {
		wg.Add(1)
		go func() {
			joined.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if joined.Load() != int64(count) {
		checkFailed("goroutines joined: got %d, want %d", joined.Load(), count)
	}
	f.add("tasks", float64(count), "count")
	f.add("ns_per_task", float64(elapsed.Nanoseconds())/float64(count), "ns")
}

func memory(f *figures, opts options) {
	count := 100_000
	if opts.quick {
		count = 10_000
	}
	runtime.GOMAXPROCS(opts.cores)
	before := rssBytes()
	gate := make(chan struct{})
	var started, released sync.WaitGroup
	var count2 atomic.Int64
	for range count {
		started.Add(1)
		released.Add(1)
		go func() {
			started.Done()
			<-gate
			count2.Add(1)
			released.Done()
		}()
	}
	started.Wait()
	time.Sleep(settle) // the last ones reach <-gate and park
	atRest := rssBytes()
	close(gate)
	released.Wait()
	if count2.Load() != int64(count) {
		checkFailed("goroutines released: got %d, want %d", count2.Load(), count)
	}
	f.add("tasks", float64(count), "count")
	f.add("bytes_per_task", float64(atRest-before)/float64(count), "B")
}

func handoff(f *figures, opts options) {
	count := 20_000
	if opts.quick {
		count = 2_000
	}
	runtime.GOMAXPROCS(opts.cores)
	requests, replies := make(chan int), make(chan int)
	go func() {
		for n := range requests {
			replies <- n
		}
		close(replies)
	}()
	start := time.Now()
	total := 0
	for n := range count {
		requests <- n
		total += <-replies
	}
	elapsed := time.Since(start)
	close(requests)
	<-replies
	if total != count*(count-1)/2 {
		checkFailed("sum of the values handed back: got %d, want %d", total, count*(count-1)/2)
	}
	f.add("tasks", float64(count), "count")
	f.add("us_per_task", float64(elapsed.Nanoseconds())/1e3/float64(count), "us")
}
