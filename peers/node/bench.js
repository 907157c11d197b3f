// The uv-loop workloads on the real Node (issue 5), one result line per figure:
//   node <workload> <metric> <value> <unit>
// Usage: node bench.js [immediate-chain|promise-chain|sleepers|pingpong|pbkdf2-pool|all]
// sleepers and each pbkdf2-pool size run in a fresh process (RSS and UV_THREADPOOL_SIZE are
// process-wide); the workload sizes match crates/lab/src/workloads/*.rs. As `schedlab bench`,
// each figure is the median of 3 runs after 1 warm-up; per-run values go to stderr.
'use strict';
const { execFileSync } = require('child_process');
const crypto = require('crypto');

const CALLBACKS = 1_000_000;
const REACTIONS = 1_000_000;
const SLEEPERS = 100_000;
const ROUNDS = 1_000_000;
const PBKDF2_JOBS = 8;
const PBKDF2_ITERATIONS = 100_000;

const REPS = 3;
let collected = [];
const line = (workload, metric, value, unit) => collected.push([workload, metric, value, unit]);
const emit = (lines) => process.stdout.write(lines.map(([w, m, v, u]) => `node ${w} ${m} ${v.toFixed(3)} ${u}\n`).join(''));
// Runs `body` 1 + REPS times (the first is a warm-up) and prints the median of each figure.
function repeated(body, done) {
  const runs = [];
  const once = () => {
    collected = [];
    body(() => {
      runs.push(collected);
      if (runs.length <= REPS) return setImmediate(once);
      const measured = runs.slice(1);
      emit(measured[0].map(([w, m, , u], i) => {
        const values = measured.map((run) => run[i][2]).sort((a, b) => a - b);
        process.stderr.write(`bench: node ${w} ${m} runs [${measured.map((run) => run[i][2].toFixed(1)).join(', ')}] ${u}\n`);
        return [w, m, values[Math.floor(values.length / 2)], u];
      }));
      done();
    });
  };
  once();
}
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sumBelow = (n) => (n * (n - 1)) / 2;
const check = (workload, got, want) => {
  if (got !== want) throw new Error(`${workload}: checksum ${got}, want ${want}`);
};

function immediateChain(done) {
  let sum = 0;
  const start = nowMs();
  const step = (i) => {
    sum += i;
    if (i + 1 < CALLBACKS) setImmediate(step, i + 1);
    else {
      const elapsed = nowMs() - start;
      check('immediate-chain', sum, sumBelow(CALLBACKS));
      line('immediate-chain', 'callbacks_per_s', CALLBACKS / (elapsed / 1000), 'cb/s');
      done();
    }
  };
  setImmediate(step, 0);
}

function promiseChain(done) {
  let sum = 0;
  const start = nowMs();
  const resolved = Promise.resolve();
  const step = (i) => {
    sum += i;
    if (i + 1 < REACTIONS) resolved.then(() => step(i + 1));
    else {
      const elapsed = nowMs() - start;
      check('promise-chain', sum, sumBelow(REACTIONS));
      line('promise-chain', 'reactions_per_s', REACTIONS / (elapsed / 1000), 'reactions/s');
      setImmediate(done);
    }
  };
  resolved.then(() => step(0));
}

function sleepersChild() {
  let joined = 0;
  const start = nowMs();
  for (let i = 0; i < SLEEPERS; i++) {
    setTimeout(() => {
      joined += 1;
      if (joined === SLEEPERS) {
        const elapsed = nowMs() - start;
        line('sleepers', 'wall_ms', elapsed, 'ms');
        line('sleepers', 'peak_rss_mib', process.resourceUsage().maxRSS / 1024, 'MiB');
      }
    }, 100);
  }
}

function pingpong(done) {
  let resolvePing = null;
  let resolvePong = null;
  async function echo() {
    for (;;) {
      const value = await new Promise((resolve) => { resolvePing = resolve; });
      if (value < 0) return;
      resolvePong(value);
    }
  }
  async function main() {
    let sum = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const reply = new Promise((resolve) => { resolvePong = resolve; });
      resolvePing(i);
      sum += await reply;
    }
    resolvePing(-1);
    return sum;
  }
  const echoDone = echo();
  const start = nowMs();
  main().then(async (sum) => {
    const elapsed = nowMs() - start;
    await echoDone;
    check('pingpong', sum, sumBelow(ROUNDS));
    line('pingpong', 'ns_per_round_trip', (elapsed * 1e6) / ROUNDS, 'ns');
    done();
  });
}

function pbkdf2Child() {
  const size = Number(process.env.UV_THREADPOOL_SIZE);
  const start = nowMs();
  const completions = [];
  for (let i = 0; i < PBKDF2_JOBS; i++) {
    crypto.pbkdf2('password', 'salt' + i, PBKDF2_ITERATIONS, 64, 'sha512', (err) => {
      if (err) throw err;
      completions.push(nowMs() - start);
      if (completions.length === PBKDF2_JOBS) {
        line('pbkdf2-pool', `wall_ms_p${size}`, completions[PBKDF2_JOBS - 1], 'ms');
        line('pbkdf2-pool', `waves_p${size}`, waves(completions), 'waves');
        process.stderr.write(`bench: pbkdf2-pool p${size}: completions at ${completions.map((t) => t.toFixed(0)).join(' ')} ms\n`);
      }
    });
  }
}

// Completions that come within a third of the first job's time of each other form one wave.
function waves(completions) {
  const gap = completions[0] / 3;
  let count = 1;
  for (let i = 1; i < completions.length; i++) if (completions[i] - completions[i - 1] > gap) count += 1;
  return count;
}

// A child prints its figures as result lines; they are parsed back into `collected`.
function child(name, env) {
  const text = execFileSync(process.execPath, [__filename, name], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();
  for (const row of text.trim().split('\n')) {
    const [, w, m, v, u] = row.split(' ');
    collected.push([w, m, Number(v), u]);
  }
}

const which = process.argv[2] || 'all';
const inChild = (body) => () => { body(); process.on('exit', () => emit(collected)); };
const run = {
  'immediate-chain': (done) => repeated(immediateChain, done),
  'promise-chain': (done) => repeated(promiseChain, done),
  pingpong: (done) => repeated(pingpong, done),
  sleepers: (done) => repeated((next) => { child('sleepers-child', {}); next(); }, done),
  'pbkdf2-pool': (done) => repeated((next) => {
    for (const size of [1, 2, 4]) child('pbkdf2-child', { UV_THREADPOOL_SIZE: String(size) });
    next();
  }, done),
  'sleepers-child': inChild(sleepersChild),
  'pbkdf2-child': inChild(pbkdf2Child),
};
if (which === 'all') {
  const order = ['immediate-chain', 'promise-chain', 'sleepers', 'pingpong', 'pbkdf2-pool'];
  const next = () => { const name = order.shift(); if (name) run[name](next); };
  next();
} else if (run[which]) {
  run[which](() => {});
} else {
  process.stderr.write(`unknown workload: ${which}\n`);
  process.exit(2);
}
