# Sourced (not run) by the echo benchmark scripts (crates/*/benchmarks/run-net.sh): one function
# that drives one echo server with the shared load generator.
#
#   echo_model MODEL COMMAND...
#
# starts COMMAND (a server that prints `PORT <n>` on stdout once it listens), runs the load
# generator against it at 100 and at 1,000 connections with 64-byte messages for $duration each
# (after its own 0.5 s warm-up), and kills it. Prints the load generator's result lines and, for
# each size, the server's CPU time per round trip (`server_cpu_us_per_round_trip`: its user +
# system time over the load generator's whole run, divided by the round trips of that run), which
# tells what a round trip costs the server whatever else the machine is running.
#
# The caller sets `loadgen` (the path peers/go/loadgen.sh prints) and `duration` (e.g. 3s),
# defines `log`, and calls `echo_model_begin` once before the first `echo_model`.

server_pid=""

# echo_model_begin: makes the scratch folder `tmp` and sets an EXIT trap that kills a server
# still running (a run cut short) and removes the folder.
echo_model_begin() {
	tmp="$(mktemp -d)"
	trap echo_model_end EXIT
}

echo_model_end() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}

# cpu_ticks PID: the process's user + system time, in clock ticks (/proc/PID/stat).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo_model() {
	local model="$1"
	shift
	: >"$tmp/port"
	"$@" >"$tmp/port" &
	server_pid=$!
	local port=""
	for _ in $(seq 200); do
		port="$(awk '$1 == "PORT" { print $2; exit }' "$tmp/port")"
		[ -n "$port" ] && break
		if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
		sleep 0.05
	done
	if [ -z "$port" ]; then
		log "$model: the server printed no port"
		exit 1
	fi
	log "$model: serving on port $port"
	local conns before after
	for conns in 100 1000; do
		before="$(cpu_ticks "$server_pid")"
		"$loadgen" -addr "127.0.0.1:$port" -conns "$conns" -msg 64 -duration "$duration" \
			-model "$model" >"$tmp/loadgen"
		after="$(cpu_ticks "$server_pid")"
		cat "$tmp/loadgen"
		awk -v model="$model" -v conns="$conns" -v ticks="$((after - before))" \
			-v hz="$(getconf CLK_TCK)" -v seconds="${duration%s}" '
			$3 == "round_trips_per_s" { rate = $4 }
			END {
				if (rate > 0)
					printf "%s echo-c%d server_cpu_us_per_round_trip %.2f us\n", model, conns,
						ticks / hz * 1e6 / (rate * (seconds + 0.5))
			}' "$tmp/loadgen"
	done
	kill "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}
