package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// childFlag is the hidden first argument with which bench re-executes itself
// to run one repetition of a workload in a fresh process, so that the
// process-wide figures it reads (VmHWM, VmRSS) belong to that repetition.
const childFlag = "-child"

// runChild runs one repetition of workload w in a fresh process, with w.env
// added to its environment, and returns the figures it printed.
func runChild(w workload) []figure {
	name := w.name
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, childFlag, name)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), w.env...)
	out, err := cmd.Output()
	if err != nil {
		fail("%s: child process: %v", name, err)
	}
	var figs []figure
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			fail("%s: child printed %q", name, sc.Text())
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			fail("%s: child printed %q", name, sc.Text())
		}
		figs = append(figs, figure{fields[0], v, fields[2]})
	}
	if len(figs) == 0 {
		fail("%s: child printed nothing", name)
	}
	return figs
}

// childMain is the child side of runChild: one repetition, printed as
// "<metric> <value> <unit>" lines for the parent to read.
func childMain(name string) {
	w, ok := lookup(name)
	if !ok {
		fail("unknown workload %q", name)
	}
	if w.procs > 0 {
		runtime.GOMAXPROCS(w.procs)
	}
	for _, f := range w.measure() {
		fmt.Printf("%s %s %s\n", f.metric, strconv.FormatFloat(f.value, 'g', -1, 64), f.unit)
	}
}

// procStatusKB returns a "kB" field of /proc/self/status, such as VmRSS or
// VmHWM, in KiB.
func procStatusKB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail("read /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			break
		}
		return kb
	}
	fail("no %s in /proc/self/status", field)
	return 0
}
