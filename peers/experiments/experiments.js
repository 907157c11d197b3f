#!/usr/bin/env node
// The essay's experiments on the real Node.js 20 (the `node` peer of the uv-loop crate).
//
// Usage: node experiments.js <experiment> [--quick] [--cores N]
//
//   experiment  parallelism | concurrency | preemption | switching | blocking | spawn | memory |
//               handoff | convoy
//
// Runs ONE experiment and prints its figures as result lines on stdout,
// `node <experiment> <metric> <value> <unit>`, with the metrics of the lab's Rust experiments
// (crates/lab/src/experiments/*.rs, whose essays define each one). `schedlab peers` runs each
// experiment in a fresh process of this script. Exit status: 0 with figures, 1 when a check
// fails, 2 on a usage error. Everything runs on Node's main thread, as a Node program's
// JavaScript does, except convoy's CPU-bound task (a worker, as Node's users run one).
//
//   parallelism  chunks of 1,000,000 steps of Knuth's MMIX LCG in BigInt arithmetic
//                (BigInt.asUintN(64, x * A + C)), on W = 1 .. cores async functions that yield
//                with `await new Promise(setImmediate)` between chunks; best of R repetitions
//                going round the worker counts: wall_ms_w<W>, speedup_w<W>. The Rust sizes:
//                32 chunks, R = 3 (quick) / 128 chunks, R = 5. (Once V8's optimizing compiler
//                has the loop, BigInt.asUintN(64, ..) runs as 64-bit integer arithmetic: a chunk
//                takes ~4 ms here, its first runs ~30 ms.)
//   concurrency  N = 2,000 / 10,000 setTimeout(100) promises started at once: tasks, wall_ms,
//                floor_ms, in_flight_max, os_threads_max (Threads: of /proc/self/status),
//                processes_max. The sampler is a setInterval(5) on the main thread, so it is no
//                thread of its own and nothing is subtracted; it reads while the timers wait.
//   preemption   a setTimeout(1) chain (the ticker) beside one callback spinning 100 / 200 ms
//                (reading the clock every 1,024 steps, as the Rust hog does): worst_tick_delay_ms,
//                hog_ms, ticks. Nothing can interrupt a callback.
//   switching    ns_per_yield: `await new Promise(setImmediate)` in a loop (a turn of the
//                loop's check phase each); ns_per_round_trip: two async functions handing a value
//                back and forth over promises (microtasks only). Counts chosen so each takes
//                0.2 - 1 s here (full): 300,000 yields, 1,000,000 round trips; quick is a fifth.
//   blocking     Atomics.wait on a SharedArrayBuffer for 200 ms on the main thread beside the
//                ticker: worst_tick_delay_ms, call_ms, ticks.
//   spawn        N = 20,000 / 200,000 calls of an empty async function, then Promise.all:
//                ns_per_task, tasks.
//   memory       N = 10,000 / 100,000 async functions awaiting one promise: VmRSS growth over N
//                (the V8 heap grows in pages the collector has not given back, so the figure is
//                what the process holds, as for every other peer): bytes_per_task, tasks.
//   handoff      N = 2,000 / 20,000 tiny tasks handed to libuv's thread pool and their results
//                taken back, one after another: crypto.pbkdf2 of one iteration (8 bytes,
//                SHA-256), the smallest user-level task Node queues with uv_queue_work, the
//                uv-loop runner's queue_work: us_per_task, tasks. (The task does one HMAC more
//                than the Rust one's n -> n.)
//   convoy       R = 40 (quick) / 200 round trips of an 8-byte word over loopback TCP
//                (net.connect, write, a 'data' handler) to an echo server in a child process
//                (this script with __convoy-echo) that holds each reply 0.5 ms (Atomics.wait),
//                alone, then beside one CPU-bound worker_threads Worker (a BigInt LCG loop,
//                started first, spinning until a SharedArrayBuffer flag says stop):
//                round_trips, ms_per_rt_alone, ms_per_rt_loaded, slowdown.
//   startup      the first task's answer, printed as soon as it is known: one setImmediate
//                callback resolves 42: `node startup answer 42 count`. The figure,
//                exec_to_result_us, is taken by the parent from outside: schedlab peers times
//                fresh processes of this script from spawn to that line, as the lab times its
//                own models (crates/lab/src/experiments/startup.rs), so Node's own start (V8,
//                its bootstrap, this script's compile) is in it.
'use strict';

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const workerThreads = require('worker_threads');

const EXPERIMENTS = [
  'parallelism', 'concurrency', 'preemption', 'switching', 'blocking', 'spawn', 'memory', 'handoff',
  'convoy', 'startup',
];
const ITERATIONS_PER_CHUNK = 1_000_000;
const A = 6364136223846793005n;
const C = 1442695040888963407n;
// Sum over c < n of chunk(c), as crates/lab/src/workloads/cpu_parallel.rs computes it.
const CHECKSUMS = { 32: 34002847930n, 128: 136558059771n };
const WAIT_MS = 100;
const TICK_MS = 1;
const BLOCKING_CALL_MS = 200;

class CheckFailed extends Error {}

function check(what, got, want) {
  if (got !== want) throw new CheckFailed(`${what}: got ${got}, want ${want}`);
}

function fmt(value) {
  let text = value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

const lines = [];
let experiment = '';
function add(metric, value, unit) {
  lines.push(`node ${experiment} ${metric} ${fmt(Number(value))} ${unit}`);
}

const nowNs = () => process.hrtime.bigint();
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const tick = () => new Promise(setImmediate);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function chunk(c) {
  let x = BigInt(c);
  for (let i = 0; i < ITERATIONS_PER_CHUNK; i++) x = BigInt.asUintN(64, x * A + C);
  return x >> 33n;
}

// ------------------------------------------------------------------------------------- /proc

function statusField(pid, name) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(name + ':'));
  if (!line) throw new CheckFailed(`no ${name} in /proc/${pid}/status`);
  return Number(line.split(/\s+/)[1]);
}

const osThreads = () => statusField('self', 'Threads');
const rssBytes = () => statusField('self', 'VmRSS') * 1024;

function descendantProcesses() {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text;
    try {
      text = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // it exited meanwhile
    }
    const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  let count = 0;
  const unvisited = [process.pid];
  while (unvisited.length) {
    const pid = unvisited.pop();
    const direct = children.get(pid) || [];
    children.delete(pid);
    count += direct.length;
    unvisited.push(...direct);
  }
  return count;
}

function inFlightMax(spans) {
  const edges = [];
  for (const [b, e] of spans) edges.push([b, 1], [e, -1]);
  // Ends sort before begins at the same instant: touching intervals do not overlap.
  edges.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]));
  let now = 0;
  let most = 0;
  for (const [, step] of edges) {
    now += step;
    most = Math.max(most, now);
  }
  return most;
}

// ------------------------------------------------------------------------------ experiments

async function parallelism(quick, cores) {
  const [chunks, reps] = quick ? [32, 3] : [128, 5];
  const once = async (workers) => {
    let next = 0;
    const worker = async () => {
      let sum = 0n;
      while (next < chunks) {
        sum += chunk(next++);
        await tick();
      }
      return sum;
    };
    const sums = await Promise.all(Array.from({ length: workers }, worker));
    return sums.reduce((a, b) => a + b, 0n);
  };
  const best = new Array(cores + 1).fill(Infinity);
  for (let r = 0; r < reps; r++) {
    for (let w = 1; w <= cores; w++) {
      const t0 = nowMs();
      const got = await once(w);
      best[w] = Math.min(best[w], nowMs() - t0);
      check(`checksum of ${chunks} chunks on ${w} workers`, got, CHECKSUMS[chunks]);
    }
  }
  for (let w = 1; w <= cores; w++) {
    add(`wall_ms_w${w}`, best[w], 'ms');
    add(`speedup_w${w}`, best[1] / best[w], 'x');
  }
}

async function concurrency(quick) {
  const count = quick ? 2_000 : 10_000;
  let threads = 0;
  let processes = 0;
  const sample = () => {
    threads = Math.max(threads, osThreads());
    processes = Math.max(processes, descendantProcesses());
  };
  sample();
  const sampler = setInterval(sample, 5);
  const t0 = nowMs();
  const base = nowNs();
  const wait = async () => {
    const begin = nowNs() - base;
    await sleep(WAIT_MS);
    return [begin, nowNs() - base];
  };
  const spans = await Promise.all(Array.from({ length: count }, wait));
  const wall = nowMs() - t0;
  clearInterval(sampler);
  check('waits finished', spans.length, count);
  for (const [b, e] of spans) {
    // Node's timers count whole milliseconds from the loop's cached time: allow it 1 ms.
    if (e - b < BigInt((WAIT_MS - 1) * 1e6)) throw new CheckFailed(`a wait returned after ${e - b} ns`);
  }
  add('tasks', count, 'count');
  add('wall_ms', wall, 'ms');
  add('floor_ms', WAIT_MS, 'ms');
  add('in_flight_max', inFlightMax(spans), 'count');
  add('os_threads_max', threads, 'count');
  add('processes_max', processes, 'count');
}

function spin(ms) {
  const t0 = nowMs();
  let x = 1n;
  while (nowMs() - t0 < ms) {
    for (let i = 0; i < 1024; i++) x = BigInt.asUintN(64, x * A + C);
  }
  return nowMs() - t0;
}

function block(ms) {
  const t0 = nowMs();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const outcome = Atomics.wait(cell, 0, 0, ms);
  check('Atomics.wait', outcome, 'timed-out');
  return nowMs() - t0;
}

// The ticker (a setTimeout(1) chain) beside `busy`, a callback run once the ticker's first
// timer is armed; resolves when the ticker sees the busy callback has finished.
function besideTicker(busy, lasts) {
  return new Promise((resolve) => {
    let worst = 0;
    let ticks = 0;
    let early = false;
    let took = null;
    const arm = () => {
      const t0 = nowMs();
      setTimeout(() => {
        const late = nowMs() - t0;
        // Node's timers count whole milliseconds from the loop's cached time: allow it 1 ms.
        early ||= late < TICK_MS - 1;
        worst = Math.max(worst, late - TICK_MS);
        ticks++;
        if (took === null) arm();
        else resolve({ worst, ticks, early, took });
      }, TICK_MS);
    };
    arm();
    setImmediate(() => {
      took = busy(lasts);
    });
  });
}

async function preemption(quick, _cores, kind = 'spin') {
  const lasts = kind === 'spin' ? (quick ? 100 : 200) : BLOCKING_CALL_MS;
  const { worst, ticks, early, took } = await besideTicker(kind === 'spin' ? spin : block, lasts);
  check('the busy callback lasted its time', took >= lasts, true);
  check('the ticker ticked and never early', ticks > 0 && !early, true);
  add('worst_tick_delay_ms', worst, 'ms');
  add(kind === 'spin' ? 'hog_ms' : 'call_ms', took, 'ms');
  add('ticks', ticks, 'count');
}

async function switching(quick) {
  let [yields, rounds] = [300_000, 1_000_000];
  if (quick) [yields, rounds] = [yields / 5, rounds / 5];
  let t0 = nowNs();
  for (let i = 0; i < yields; i++) await tick();
  const yieldNs = Number(nowNs() - t0);
  // Two async functions over promises: each side resolves the other's promise and awaits its
  // own, so every value crosses two microtask hops.
  let toEcho = null;
  let toMain = null;
  const receive = (side) => new Promise((resolve) => side(resolve));
  const echo = (async () => {
    for (;;) {
      const value = await receive((r) => { toEcho = r; });
      if (value === null) return;
      toMain(value);
    }
  })();
  t0 = nowNs();
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const back = receive((r) => { toMain = r; });
    toEcho(i);
    total += await back;
  }
  const roundTripNs = Number(nowNs() - t0);
  toEcho(null);
  await echo;
  check('sum of the values bounced', total, (rounds * (rounds - 1)) / 2);
  add('ns_per_yield', yieldNs / yields, 'ns');
  add('ns_per_round_trip', roundTripNs / rounds, 'ns');
}

async function spawn(quick) {
  const count = quick ? 20_000 : 200_000;
  const empty = async () => 1;
  const t0 = nowNs();
  const tasks = [];
  for (let i = 0; i < count; i++) tasks.push(empty());
  const joined = (await Promise.all(tasks)).reduce((a, b) => a + b, 0);
  const elapsed = Number(nowNs() - t0);
  check('tasks joined', joined, count);
  add('tasks', count, 'count');
  add('ns_per_task', elapsed / count, 'ns');
}

async function memory(quick) {
  const count = quick ? 10_000 : 100_000;
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  const before = rssBytes();
  const waiter = async () => {
    await gate;
    return 1;
  };
  const tasks = [];
  for (let i = 0; i < count; i++) tasks.push(waiter());
  await tick(); // every waiter is suspended at its await
  const atRest = rssBytes();
  open();
  const released = (await Promise.all(tasks)).reduce((a, b) => a + b, 0);
  check('tasks released', released, count);
  add('tasks', count, 'count');
  add('bytes_per_task', (atRest - before) / count, 'B');
}

// Each task goes to libuv's thread pool (uv_queue_work) as a one-iteration PBKDF2 of n's digits,
// one after another, the next queued from the previous one's callback.
function handoff(quick) {
  const count = quick ? 2_000 : 20_000;
  return new Promise((resolve, reject) => {
    let sum = 0;
    const t0 = nowNs();
    const next = (n) => {
      if (n >= count) {
        const elapsed = Number(nowNs() - t0);
        check('sum of the values handed back', sum, (count * (count - 1)) / 2);
        add('tasks', count, 'count');
        add('us_per_task', elapsed / 1e3 / count, 'us');
        resolve();
        return;
      }
      crypto.pbkdf2(String(n), 'schedlab', 1, 8, 'sha256', (error) => {
        if (error) {
          reject(error);
          return;
        }
        sum += n;
        next(n + 1);
      });
    };
    next(0);
  });
}

const ECHO_DELAY_MS = 0.5;
const ECHO_ARG = '__convoy-echo';

// The echo server's process: one connection, each 8-byte word back after ECHO_DELAY_MS (the
// process blocks in Atomics.wait meanwhile); prints its port on stdout first.
function convoyEcho() {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const server = net.createServer((socket) => {
    server.close();
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        Atomics.wait(cell, 0, 0, ECHO_DELAY_MS);
        socket.write(pending.subarray(0, 8));
        pending = pending.subarray(8);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
}

// Starts the echo server's process; resolves with its port and a promise of its exit.
function startEcho() {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(process.execPath, [__filename, ECHO_ARG], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((done) => child.on('exit', done));
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve({ port: Number(out.trim()), exited });
    });
    child.on('error', reject);
  });
}

// The CPU-bound worker: flags[0] = 1 once it spins; it spins until flags[1] is set.
function convoySpinner(flags) {
  Atomics.store(flags, 0, 1);
  let x = 1n;
  while (Atomics.load(flags, 1) === 0) {
    for (let i = 0; i < 100; i++) x = BigInt.asUintN(64, x * A + C);
  }
  workerThreads.parentPort.postMessage(String(x));
}

function roundTrips(port, rounds) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const word = (i) => {
      const buffer = Buffer.alloc(8);
      buffer.writeBigUInt64LE(BigInt(i));
      return buffer;
    };
    let pending = Buffer.alloc(0);
    let next = 0;
    let sum = 0n;
    let t0 = 0;
    socket.on('connect', () => {
      t0 = nowMs();
      socket.write(word(0));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        sum += pending.readBigUInt64LE(0);
        pending = pending.subarray(8);
        next++;
        if (next < rounds) {
          socket.write(word(next));
        } else {
          const elapsed = nowMs() - t0;
          socket.destroy();
          resolve({ sum, elapsed });
          return;
        }
      }
    });
    socket.on('error', reject);
  });
}

async function convoyPhase(rounds, spinner) {
  const { port, exited } = await startEcho();
  const flags = new Int32Array(new SharedArrayBuffer(8));
  let worker = null;
  let workerDone = null;
  if (spinner) {
    worker = new workerThreads.Worker(__filename, { workerData: { convoyFlags: flags } });
    workerDone = new Promise((resolve, reject) => {
      worker.on('exit', resolve);
      worker.on('error', reject);
    });
    const deadline = nowMs() + 10_000;
    while (Atomics.load(flags, 0) === 0) {
      if (nowMs() > deadline) throw new CheckFailed('the CPU-bound worker did not start');
      await sleep(1);
    }
  }
  let outcome;
  try {
    outcome = await roundTrips(port, rounds);
  } finally {
    Atomics.store(flags, 1, 1);
    if (workerDone !== null) await workerDone;
  }
  await exited;
  check('sum of the words echoed', outcome.sum, BigInt(rounds * (rounds - 1) / 2));
  return outcome.elapsed / rounds;
}

async function convoy(quick) {
  const rounds = quick ? 40 : 200;
  const alone = await convoyPhase(rounds, false);
  const loaded = await convoyPhase(rounds, true);
  add('round_trips', rounds, 'count');
  add('ms_per_rt_alone', alone, 'ms');
  add('ms_per_rt_loaded', loaded, 'ms');
  add('slowdown', loaded / alone, 'x');
}

// startup: the first task's answer, from one immediate (see the header).
async function startup() {
  const answer = await new Promise((resolve) => setImmediate(() => resolve(42)));
  add('answer', answer, 'count');
}

const RUNNERS = {
  parallelism, concurrency, preemption, switching,
  blocking: (quick, cores) => preemption(quick, cores, 'block'), spawn, memory, handoff, convoy,
  startup,
};

function usage(message) {
  process.stderr.write(`experiments.js: ${message}\nusage: node experiments.js <experiment> [--quick] [--cores N]\n  experiments: ${EXPERIMENTS.join(', ')}\n`);
  process.exit(2);
}

async function main() {
  const words = [];
  let quick = false;
  let cores = os.availableParallelism();
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--cores' || arg.startsWith('--cores=')) {
      const value = arg.includes('=') ? arg.split('=')[1] : args[++i];
      if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1) {
        usage(`--cores ${JSON.stringify(value)}: expected a whole number of at least 1`);
      }
      cores = Number(value);
    } else if (arg.startsWith('-')) usage(`unknown flag ${JSON.stringify(arg)}`);
    else words.push(arg);
  }
  if (words.length !== 1) usage('expected one experiment');
  [experiment] = words;
  if (!EXPERIMENTS.includes(experiment)) usage(`unknown experiment ${JSON.stringify(experiment)}`);
  try {
    await RUNNERS[experiment](quick, cores);
  } catch (error) {
    if (!(error instanceof CheckFailed)) throw error;
    process.stderr.write(`experiments.js: node ${experiment}: check failed: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (!workerThreads.isMainThread) convoySpinner(workerThreads.workerData.convoyFlags);
else if (process.argv[2] === ECHO_ARG) convoyEcho();
else main();
