// Command bench runs schedlab's workloads on the real Go runtime, the "go"
// peer of the goroutines crate. It prints one line per figure,
//
//	go <workload> <metric> <value> <unit>
//
// on stdout, and diagnostics on stderr. Each workload runs once to warm up,
// then three times; the line gives the median of the three.
//
// Usage:
//
//	bench all | <workload>...
//	bench serve-echo [-addr 127.0.0.1:0]
//
// serve-echo is no workload: it serves TCP echo for the shared load generator
// (peers/go/loadgen) until it is killed; see serve_echo.go.
package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

const (
	warmups = 1
	reps    = 3
)

// A figure is one measured quantity of one run.
type figure struct {
	metric string
	value  float64
	unit   string
}

// A workload is a named job that measures itself once per call.
type workload struct {
	name    string
	procs   int      // GOMAXPROCS to run under; 0 keeps the default
	child   bool     // run each repetition in a fresh process (memory figures)
	env     []string // extra environment of that process, as "KEY=value"
	measure func() []figure
}

var workloads = []workload{
	{name: "skynet", measure: skynet},
	{name: "pingpong", measure: pingpong},
	{name: "pingpong-1p", procs: 1, measure: pingpong},
	{name: "spawn", measure: spawn},
	{name: "chan-mpmc", measure: chanMPMC},
	{name: "sleepers", child: true, measure: sleepers},
	{name: "idle-memory", child: true, measure: idleMemory},
	{name: "yield", measure: yield},
	{name: "yield-1p", procs: 1, measure: yield},
	{name: "hog-fairness", procs: 1, measure: hogFairness},
	{name: "hog-fairness-noasync", procs: 1, child: true,
		env: []string{"GODEBUG=asyncpreemptoff=1"}, measure: hogFairness},
	{name: "blocking-handoff", procs: 1, measure: blockingHandoff},
}

func main() {
	args := os.Args[1:]
	if len(args) == 2 && args[0] == childFlag {
		childMain(args[1])
		return
	}
	if len(args) > 0 && args[0] == "serve-echo" {
		serveEcho(args[1:])
		return
	}
	if len(args) == 0 {
		usage()
	}
	var selected []workload
	for _, name := range args {
		if name == "all" {
			selected = append(selected, workloads...)
			continue
		}
		w, ok := lookup(name)
		if !ok {
			usage()
		}
		selected = append(selected, w)
	}
	for _, w := range selected {
		bench(w)
	}
}

func usage() {
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	fmt.Fprintf(os.Stderr, "usage: bench all | <workload>... | serve-echo [-addr host:port]\nworkloads: %s\n",
		strings.Join(names, " "))
	os.Exit(2)
}

func lookup(name string) (workload, bool) {
	for _, w := range workloads {
		if w.name == name {
			return w, true
		}
	}
	return workload{}, false
}

// bench runs w once to warm up and reps times to measure, then prints the
// median of each figure.
func bench(w workload) {
	if w.procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(w.procs))
	}
	once := w.measure
	if w.child {
		once = func() []figure { return runChild(w) }
	}
	for range warmups {
		runtime.GC()
		once()
	}
	runs := make([][]figure, reps)
	for i := range runs {
		runtime.GC()
		runs[i] = once()
	}

	fmt.Printf("go %s procs %d count\n", w.name, runtime.GOMAXPROCS(0))
	for j, f := range runs[0] {
		values := make([]float64, len(runs))
		for i, run := range runs {
			values[i] = run[j].value
		}
		fmt.Fprintf(os.Stderr, "bench: %s %s runs %v %s\n", w.name, f.metric, values, f.unit)
		fmt.Printf("go %s %s %s %s\n", w.name, f.metric, format(median(values)), f.unit)
	}
}

func median(values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return s[len(s)/2]
}

// format keeps about four significant digits for the usual magnitudes.
func format(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// logf writes a diagnostic line on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// fail reports a wrong checksum or a broken measurement and exits non-zero.
func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}
