// Ordering scenarios for crates/uv-loop's conformance tests (issue 5, points 1-10).
// Usage: node orderings.js --list | node orderings.js <scenario>
// Each scenario prints one event per line; peers/node/regen-fixtures.sh records them.
'use strict';
const fs = require('fs');
const log = (line) => process.stdout.write(line + '\n');
const busyWait = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };

const scenarios = {
  // 1. Inside an fs callback: setTimeout 0, setImmediate, nextTick.
  fs_callback() {
    fs.stat(__filename, () => {
      setTimeout(() => log('timeout'), 0);
      setImmediate(() => log('immediate'));
      process.nextTick(() => log('nextTick'));
    });
  },
  // 2. Top level: nextTick, Promise.then, queueMicrotask, sync logs, timeout 0, immediate.
  top_level() {
    log('sync');
    setTimeout(() => log('timeout'), 0);
    setImmediate(() => log('immediate'));
    process.nextTick(() => log('nextTick'));
    Promise.resolve().then(() => log('promise'));
    queueMicrotask(() => log('queueMicrotask'));
    log('sync-end');
  },
  // 3. nextTick and promise nesting.
  tick_promise_nesting() {
    Promise.resolve().then(() => {
      log('p1');
      process.nextTick(() => log('tick-from-p1'));
    });
    process.nextTick(() => {
      log('t1');
      Promise.resolve().then(() => log('p-from-t1'));
      process.nextTick(() => log('t-from-t1'));
    });
    Promise.resolve().then(() => log('p2'));
    process.nextTick(() => log('t2'));
  },
  // 4. Inside an I/O callback: two timers and two immediates with nested ticks and promises.
  io_timers_immediates() {
    fs.stat(__filename, () => {
      setTimeout(() => {
        log('t1');
        process.nextTick(() => log('n1'));
        Promise.resolve().then(() => log('p1'));
      }, 0);
      setTimeout(() => {
        log('t2');
        Promise.resolve().then(() => log('p2'));
      }, 0);
      setImmediate(() => {
        log('i1');
        process.nextTick(() => log('in1'));
        Promise.resolve().then(() => log('ip1'));
        setImmediate(() => log('i3-nested'));
      });
      setImmediate(() => log('i2'));
      // Node itself is slow enough here that the 1 ms timers are due by the end of this
      // iteration; the busy wait makes that hold for any runtime, so the order is fixed.
      busyWait(2);
    });
  },
  // 5. Durations 1, 0, 2, 0 and a 10 ms busy wait: one FIFO list per duration (0 -> 1).
  timer_lists() {
    setTimeout(() => log('A'), 1);
    setTimeout(() => log('B'), 0);
    setTimeout(() => log('C'), 2);
    setTimeout(() => log('D'), 0);
    busyWait(10);
  },
  // 6. In a timer callback: setTimeout 0 and setImmediate.
  timer_callback() {
    setTimeout(() => {
      log('T1');
      setTimeout(() => log('T-inner'), 0);
      setImmediate(() => log('I-inner'));
    }, 0);
  },
  // 7. async function with `await null` beside promise chains and nextTick.
  await_null() {
    async function a() {
      log('a start');
      await null;
      log('a after await');
    }
    a();
    Promise.resolve().then(() => log('then1')).then(() => log('then2'));
    process.nextTick(() => log('tick'));
    log('end');
  },
  // 7b. A handler that returns a promise: the derived promise settles two microtasks later.
  thenable_ticks() {
    Promise.resolve().then(() => Promise.resolve('x')).then((v) => log('via-thenable ' + v));
    Promise.resolve().then(() => log('a1')).then(() => log('a2')).then(() => log('a3'))
      .then(() => log('a4')).then(() => log('a5'));
  },
  // 7c. Awaiting an async function's promise, and a rejection caught by try/catch.
  async_return() {
    async function inner() { log('inner'); return 1; }
    async function failing() { await null; throw new Error('bad'); }
    async function outer() {
      const v = await inner();
      log('outer got ' + v);
      try { await failing(); } catch (e) { log('caught ' + e.message); }
    }
    outer();
    Promise.resolve().then(() => log('t1')).then(() => log('t2')).then(() => log('t3'))
      .then(() => log('t4'));
    log('sync-end');
  },
  // 7d. Promise.all, race, allSettled and any on settled promises, beside a chain that counts
  // microtask ticks: where each combinator's result lands.
  combinators() {
    const tick = (n) => { log('tick ' + n); if (n < 5) Promise.resolve().then(() => tick(n + 1)); };
    Promise.resolve().then(() => tick(1));
    Promise.all([Promise.resolve('a'), Promise.resolve('b')]).then((v) => log('all ' + v.join(',')));
    Promise.all([]).then((v) => log('all-empty ' + v.length));
    Promise.all([Promise.resolve(1), Promise.reject(new Error('no'))])
      .catch((e) => log('all-rejected ' + e.message));
    Promise.race([new Promise(() => {}), Promise.resolve('r')]).then((v) => log('race ' + v));
    Promise.allSettled([Promise.resolve('s'), Promise.reject(new Error('e'))])
      .then((v) => log('allSettled ' + v.map((x) => x.status).join(',')));
    Promise.any([Promise.reject(new Error('x')), Promise.resolve('y')]).then((v) => log('any ' + v));
    Promise.any([Promise.reject(new Error('p')), Promise.reject(new Error('q'))])
      .catch((e) => log('any-rejected ' + e.constructor.name + ' ' + e.errors.map((x) => x.message).join(',')));
    log('sync-end');
  },
  // 8a. A recursive nextTick chain holds back a 0 ms timer until it ends.
  tick_starvation() {
    setTimeout(() => log('timeout'), 0);
    let n = 0;
    const tick = () => {
      n += 1;
      if (n < 100000) process.nextTick(tick); else log('ticks-done ' + n);
    };
    process.nextTick(tick);
  },
  // 8b. A recursive setImmediate chain does not starve I/O: the stat completes mid-chain.
  immediate_no_starvation() {
    let done = false;
    let count = 0;
    const step = () => {
      count += 1;
      if (done) { log('chain-stopped'); return; }
      if (count > 1000000) { log('starved'); return; }
      setImmediate(step);
    };
    fs.stat(__filename, () => { done = true; log('stat'); });
    setImmediate(step);
  },
  // 9. Four pool threads blocked: a stat waits for them, a timer does not.
  pool_exhaustion() {
    const os = require('os');
    const path = require('path');
    const { execFileSync } = require('child_process');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uv-fifo-'));
    const fifos = [0, 1, 2, 3].map((i) => path.join(dir, 'fifo' + i));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    let read = 0;
    for (const fifo of fifos) {
      fs.readFile(fifo, () => { read += 1; if (read === 4) fs.rmSync(dir, { recursive: true }); });
    }
    fs.stat(__filename, () => log('stat'));
    setTimeout(() => log('timer-50'), 50);
    setTimeout(() => {
      log('gate-open');
      for (const fifo of fifos) { const fd = fs.openSync(fifo, 'w'); fs.closeSync(fd); }
    }, 150);
  },
  // 9b. The same with UV_THREADPOOL_SIZE=5 (set by regen-fixtures.sh): the stat returns.
  pool_five() {
    scenarios.pool_exhaustion();
  },
  // 10. Uncaught error in a timer: what ran before it, then the exit.
  uncaught_error() {
    setTimeout(() => {
      log('timer');
      process.nextTick(() => log('never-tick'));
      throw new Error('boom');
    }, 0);
    setImmediate(() => log('immediate'));
  },
  // 11. Unhandled rejection: ticks and microtasks drain first, then the process exits.
  unhandled_rejection() {
    Promise.reject(new Error('nope'));
    process.nextTick(() => log('tick'));
    Promise.resolve().then(() => log('then'));
    setTimeout(() => log('never-timeout'), 0);
  },
  // 12. A rejection handled within the same drain is not reported.
  handled_later() {
    const p = Promise.reject(new Error('late'));
    process.nextTick(() => p.catch(() => log('caught')));
    setTimeout(() => log('timeout'), 0);
  },
  // 13. AbortController, AbortSignal.any/timeout and timers/promises: abort runs the listeners
  // at once, in order (one removed and one added on the way), then the dependants; a promise
  // timer aborted mid-way rejects six microtasks later (the finally that removes its
  // listener); a timeout signal's timer is unref'd, so a long one does not hold the exit.
  abort_timers() {
    const tp = require('timers/promises');
    const chain = (n) => { log('m' + n); if (n < 8) Promise.resolve().then(() => chain(n + 1)); };
    const controller = new AbortController();
    const { signal } = controller;
    const other = new AbortController();
    const any = AbortSignal.any([signal, other.signal]);
    const anyOfAny = AbortSignal.any([any]);
    let third;
    signal.addEventListener('abort', () => {
      log('listener 1 ' + signal.reason.message);
      signal.removeEventListener('abort', third);
      signal.addEventListener('abort', () => log('listener added during dispatch'));
      process.nextTick(() => log('tick from listener 1'));
      Promise.resolve().then(() => log('microtask from listener 1'));
    });
    tp.setTimeout(1000, 'never', { signal }).then(
      (v) => log('timer resolved ' + v),
      (e) => log('timer rejected ' + e.name + ' cause ' + e.cause.message));
    third = () => log('listener 3');
    signal.addEventListener('abort', third);
    signal.addEventListener('abort', () => log('listener 4'));
    anyOfAny.addEventListener('abort', () => log('any of any aborted ' + anyOfAny.reason.message));
    any.addEventListener('abort', () => log('any aborted ' + any.reason.message));
    tp.setTimeout(1000, 'never', { signal: anyOfAny })
      .catch((e) => log('any timer rejected cause ' + e.cause.message));
    tp.setTimeout(1, 'one').then((v) => log('promise timer ' + v));
    setTimeout(() => {
      log('timer 2: abort');
      controller.abort(new Error('stop'));
      log('after abort ' + signal.aborted + ' ' + any.aborted);
      signal.addEventListener('abort', () => log('never: added after abort'));
      other.abort();
      chain(1);
      process.nextTick(() => log('tick after abort'));
      tp.setImmediate('imm').then((v) => log('immediate promise ' + v));
      const late = AbortSignal.any([other.signal, signal]);
      log('any of aborted ' + late.aborted + ' ' + late.reason.name);
      tp.setTimeout(5, 'never', { signal: late })
        .catch((e) => log('pre-aborted timer rejected cause ' + e.cause.message));
      const timeout = AbortSignal.timeout(5);
      timeout.addEventListener('abort', () => log('timeout aborted ' + timeout.reason.name));
      tp.setTimeout(1000, 'never', { signal: timeout })
        .catch((e) => log('timeout timer rejected cause ' + e.cause.name));
      AbortSignal.timeout(60000).addEventListener('abort', () => log('never: unref'));
    }, 2);
    process.nextTick(() => log('tick main'));
    Promise.resolve().then(() => log('microtask main'));
    log('sync end');
  },
  // 14. A listener that throws: the later listeners still run; the error is thrown from a
  // nextTick queued as it was thrown, which ends the process.
  abort_listener_throws() {
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => {
      log('listener 1');
      throw new Error('from listener');
    });
    controller.signal.addEventListener('abort', () => log('listener 2'));
    process.nextTick(() => log('tick before abort'));
    controller.abort();
    process.nextTick(() => log('never: tick after abort'));
    log('sync end');
  },
  // 15. EventEmitter: prepend and once wrappers; an emit calls a copy of the list (a listener
  // removed during it still runs, one added does not); a once listener removes itself
  // (removeListener) before it runs, and a nested emit does not run it twice; newListener
  // before the add, removeListener after the removal; MaxListenersExceededWarning on a
  // nextTick, once per list (again after the list went down to one listener).
  events_emit() {
    const EventEmitter = require('events');
    const ee = new EventEmitter();
    process.on('warning', (w) => log('warning ' + w.name + ' ' + w.type + ' ' + w.count));
    ee.on('newListener', (name) => log('newListener ' + name));
    ee.on('removeListener', (name) => log('removeListener ' + name));
    const b = (v) => log('b ' + v);
    const c = (v) => log('once c ' + v);
    ee.on('x', (v) => {
      log('a ' + v);
      ee.removeListener('x', b);
      ee.removeListener('x', c);
      ee.on('x', (w) => log('added during emit ' + w));
      process.nextTick(() => log('tick from a ' + v));
      Promise.resolve().then(() => log('microtask from a ' + v));
    });
    ee.on('x', b);
    ee.once('x', c);
    ee.prependListener('x', (v) => log('prepended ' + v));
    ee.prependOnceListener('x', (v) => {
      log('prepended once ' + v);
      log('nested emit ' + ee.emit('x', v + 10));
    });
    log('count ' + ee.listenerCount('x') + ' names ' + ee.eventNames().join(','));
    log('emit 1 ' + ee.emit('x', 1));
    log('count ' + ee.listenerCount('x'));
    log('emit 2 ' + ee.emit('x', 2));
    log('emit none ' + ee.emit('none', 0));
    ee.once('error', (e) => log('error handled ' + e));
    log('emit error ' + ee.emit('error', 7));
    ee.setMaxListeners(2);
    for (let i = 0; i < 4; i++) ee.on('y', () => {});
    log('max ' + ee.getMaxListeners() + ' y ' + ee.listenerCount('y'));
    ee.removeAllListeners('y');
    for (let i = 0; i < 3; i++) ee.on('y', () => {});
    process.nextTick(() => log('tick main'));
    ee.removeAllListeners();
    log('names ' + ee.eventNames().join(','));
    log('sync end');
  },
  // 16. events.once: resolves with the event's arguments, two microtasks after an emit made
  // before its first checkpoint, one after a later emit (an async function returning its
  // promise); rejects on 'error' and on abort, removing the other listeners on the way; a
  // signal aborted already rejects at once and adds nothing.
  events_once() {
    const EventEmitter = require('events');
    const { once } = EventEmitter;
    const chain = (n) => { log('m' + n); if (n < 5) Promise.resolve().then(() => chain(n + 1)); };
    const ee = new EventEmitter();
    ee.on('removeListener', (name) => log('removeListener ' + name));
    once(ee, 'ready').then((v) => log('ready ' + v[0]));
    log('listeners ' + ee.listenerCount('ready') + ' ' + ee.listenerCount('error'));
    ee.emit('ready', 1);
    chain(1);
    process.nextTick(() => log('tick main'));
    setImmediate(() => {
      log('immediate 1');
      once(ee, 'data').then((v) => log('data ' + v[0]));
      chain(1);
      Promise.resolve().then(() => Promise.resolve().then(() => log('emit data ' + ee.emit('data', 2))));
    });
    setImmediate(() => {
      log('immediate 2');
      once(ee, 'data').then((v) => log('never: data ' + v[0]), (e) => log('rejected ' + e));
      once(ee, 'error').then((v) => log('error event ' + v[0]));
      chain(1);
      log('emit error ' + ee.emit('error', 9));
    });
    setImmediate(() => {
      log('immediate 3');
      const controller = new AbortController();
      once(ee, 'data', { signal: controller.signal })
        .then((v) => log('never: data ' + v[0]), (e) => log('rejected ' + e.name + ' cause ' + e.cause.message));
      once(ee, 'data', { signal: AbortSignal.abort() })
        .catch((e) => log('pre-aborted ' + e.name + ' cause ' + e.cause.name));
      log('listeners ' + ee.listenerCount('data') + ' ' + ee.listenerCount('error'));
      chain(1);
      process.nextTick(() => { log('tick: abort'); controller.abort(new Error('stop')); });
    });
    setImmediate(() => {
      log('immediate 4 listeners ' + ee.listenerCount('data') + ' ' + ee.listenerCount('error'));
    });
    log('sync end');
  },
  // 17. An 'error' event with no listener throws from emit: the once 'error' listener handled
  // the first one only; the second, in a timer, ends the process (no tick runs after it).
  events_error_throws() {
    const ee = new (require('events'))();
    ee.once('error', (e) => log('handled ' + e.message));
    log('emit ' + ee.emit('error', new Error('first')));
    setTimeout(() => {
      log('timer');
      process.nextTick(() => log('never: tick'));
      ee.emit('error', new Error('second'));
      log('never: after emit');
    }, 0);
    process.nextTick(() => log('tick main'));
    log('sync end');
  },
  // 18. fs/promises: the promise settles in the poll phase, in the request's completion, so
  // its reactions run after main's microtasks and, in that drain, before the ticks they
  // queue; an immediate from a reaction runs before a due timer. A missing file rejects.
  // (Pool requests start in main or the check phase only: see ordering_fs_promises.rs.)
  fs_promises() {
    const fsp = require('fs/promises');
    const chain = (n) => { log('m' + n); if (n < 4) Promise.resolve().then(() => chain(n + 1)); };
    fsp.readFile(__filename).then((data) => {
      log('readFile promise ' + (data.length === fs.statSync(__filename).size));
      process.nextTick(() => log('tick from promise'));
      chain(1);
      setImmediate(() => {
        log('immediate from promise');
        fs.readFile(__filename, (err) => {
          log('readFile callback ' + (err === null));
          process.nextTick(() => log('tick from callback'));
          Promise.resolve().then(() => log('microtask from callback'));
          setImmediate(() => {
            log('immediate from callback');
            fsp.stat(__filename)
              .then((stats) => {
                log('stat promise ' + stats.isFile());
                return fsp.readFile('/no/such/uv-loop-file');
              })
              .then(() => log('never: read'), (e) => log('rejected ' + e.code));
          });
        });
      });
      setTimeout(() => log('timeout from promise'), 0);
      busyWait(2);
    });
    chain(1);
    process.nextTick(() => log('tick main'));
    log('sync end');
  },
  // 19. dgram: bind (the address lookup answers on a nextTick, so 'listening' comes in
  // main's first tick), send to itself (Node tries the kernel at once: the send callback
  // is a nextTick), the datagram in the poll phase, close ('close' on a nextTick).
  dgram_self_send() {
    const dgram = require('dgram');
    const s = dgram.createSocket('udp4');
    s.on('listening', () => {
      log('listening');
      process.nextTick(() => log('tick from listening'));
      Promise.resolve().then(() => log('microtask from listening'));
      setImmediate(() => log('immediate from listening'));
      setTimeout(() => log('timeout from listening'), 0);
      s.send('hello', s.address().port, '127.0.0.1', (err, n) => {
        log('send callback ' + err + ' ' + n);
        process.nextTick(() => log('tick from send callback'));
        Promise.resolve().then(() => log('microtask from send callback'));
      });
      log('sent');
    });
    s.on('message', (msg, rinfo) => {
      log('message ' + msg + ' ' + rinfo.address + ' ' + rinfo.family + ' ' + rinfo.size +
          ' own port ' + (rinfo.port === s.address().port));
      process.nextTick(() => log('tick from message'));
      Promise.resolve().then(() => log('microtask from message'));
      setTimeout(() => log('timeout from message'), 0);
      setImmediate(() => {
        log('immediate from message');
        s.close(() => log('close callback'));
        process.nextTick(() => log('tick after close'));
        setImmediate(() => log('immediate after close'));
        busyWait(2); // the message's 1 ms timer is due at this iteration's end
      });
    });
    s.on('close', () => log('close'));
    s.bind(0, '127.0.0.1', () => log('bind callback'));
    process.nextTick(() => {
      log('tick main');
      // The 1 ms timers set so far (main's, the listening listener's) are due when the loop
      // starts, for any runtime: they run before the first poll.
      busyWait(2);
    });
    Promise.resolve().then(() => log('microtask main'));
    setImmediate(() => log('immediate main'));
    setTimeout(() => log('timeout main'), 0);
    log('sync end');
  },
  // 20. The same program under --test-udp-no-try-send (run as a child): every send is a
  // uv_udp_send request, written at once, its callback run when the handle is fed: the
  // first iteration's pending phase, after the timers, before the datagram is read.
  dgram_no_try_send() {
    const { execFileSync } = require('child_process');
    process.stdout.write(execFileSync(process.execPath,
      ['--test-udp-no-try-send', __filename, 'dgram_self_send']));
  },
  // 21. dgram: two sockets exchange three datagrams each way; closing both from a message
  // callback emits both 'close' events on nextTicks, before that callback's microtasks.
  dgram_exchange() {
    const dgram = require('dgram');
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    let ready = 0;
    let pongs = 0;
    const start = () => {
      if (++ready < 2) return;
      for (let i = 1; i <= 3; i++) {
        a.send('ping ' + i, b.address().port, '127.0.0.1', () => log('a sent ' + i));
      }
      log('a sent 3');
    };
    a.bind(0, '127.0.0.1', () => { log('a listening'); start(); });
    b.bind(0, '127.0.0.1', () => { log('b listening'); start(); });
    b.on('message', (msg, rinfo) => {
      log('b got ' + msg + ' from a ' + (rinfo.port === a.address().port) + ' size ' + rinfo.size);
      process.nextTick(() => log('b tick'));
      const n = String(msg).slice(5);
      b.send('pong ' + n, rinfo.port, rinfo.address, () => log('b replied ' + n));
    });
    a.on('message', (msg) => {
      log('a got ' + msg);
      Promise.resolve().then(() => log('a microtask'));
      setImmediate(() => log('a immediate ' + msg));
      if (++pongs === 3) {
        a.close(() => log('a close callback'));
        b.close();
        log('closing both');
      }
    });
    a.on('close', () => log('a close'));
    b.on('close', () => {
      log('b close');
      setImmediate(() => log('immediate after close'));
    });
  },
  // 22. dgram errors: a second bind and a disconnect while unconnected throw; binding a port
  // in use emits 'error' (EADDRINUSE) from the bind's tick; a closed socket throws
  // ERR_SOCKET_DGRAM_NOT_RUNNING.
  dgram_errors() {
    const dgram = require('dgram');
    const a = dgram.createSocket('udp4');
    a.bind(0, '127.0.0.1', () => {
      log('a listening');
      const port = a.address().port;
      try { a.bind(0); } catch (e) { log('bind again: ' + e.code + ' ' + e.message); }
      try { a.disconnect(); } catch (e) { log('disconnect: ' + e.code + ' ' + e.message); }
      try { a.remoteAddress(); } catch (e) { log('remoteAddress: ' + e.code + ' ' + e.message); }
      const b = dgram.createSocket('udp4');
      b.on('error', (e) => {
        log('b error ' + e.code + ' ' + e.syscall + ' ' + e.address + ' ' + (e.port === port) +
            ' ' + e.message.replace(String(port), 'PORT'));
        process.nextTick(() => log('tick after error'));
        b.close(() => log('b close'));
        a.close(() => log('a close'));
        try { a.send('x', port, '127.0.0.1'); } catch (e) { log('send after close: ' + e.code + ' ' + e.message); }
        try { a.close(); } catch (e) { log('close again: ' + e.code + ' ' + e.message); }
        try { a.address(); } catch (e) { log('address after close: ' + e.code + ' ' + e.message); }
      });
      b.bind(port, '127.0.0.1');
      process.nextTick(() => log('tick after bind'));
      setImmediate(() => log('immediate'));
    });
  },
  // 23. dgram connect: 'connect' on a nextTick after the lookup's; a connected socket sends
  // without an address (an address throws); after disconnect it needs one again. A send on
  // an unbound socket binds it and waits for 'listening'.
  dgram_connect() {
    const dgram = require('dgram');
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    b.bind(0, '127.0.0.1', () => {
      const port = b.address().port;
      a.connect(port, '127.0.0.1', (err) => {
        log('connect callback ' + err + ' remote port ' + (a.remoteAddress().port === port));
        try { a.connect(port, '127.0.0.1'); } catch (e) { log('connect again: ' + e.code + ' ' + e.message); }
        const x = Buffer.from('x');
        try { a.send(x, 0, 1, port, '127.0.0.1'); } catch (e) { log('send with address: ' + e.code + ' ' + e.message); }
        a.send('connected hello', (err, n) => log('send callback ' + err + ' ' + n));
      });
      a.on('listening', () => log('a listening'));
      log('a connecting');
      process.nextTick(() => log('tick after connect'));
    });
    b.once('message', (msg) => {
      log('b got ' + msg);
      a.disconnect();
      try { a.remoteAddress(); } catch (e) { log('remoteAddress: ' + e.code); }
      try { a.disconnect(); } catch (e) { log('disconnect again: ' + e.code); }
      a.send('disconnected', b.address().port, '127.0.0.1', () => log('sent after disconnect'));
      const c = dgram.createSocket('udp4');
      c.on('listening', () => log('c listening'));
      c.send('unbound', b.address().port, '127.0.0.1', () => {
        log('c sent');
        c.close(() => log('c close'));
      });
      log('c queued');
      let left = 2;
      b.on('message', (m, rinfo) => {
        log('b got ' + m + ' ' + rinfo.address);
        if (--left === 0) { a.close(); b.close(() => log('b close')); }
      });
    });
  },
  // 24. dgram: three sends in a row. Each resolves its address on a nextTick, then Node
  // tries the kernel: each callback is one more nextTick, after a tick queued behind the
  // sends; the datagrams are read in the first poll, after the timers.
  dgram_three_sends() {
    const dgram = require('dgram');
    const a = dgram.createSocket('udp4');
    a.bind(0, '127.0.0.1', () => {
      const port = a.address().port;
      for (const word of ['one', 'two', 'three']) {
        a.send(word, port, '127.0.0.1', (err, n) => log('sent ' + word + ' ' + err + ' ' + n));
      }
      // Queued behind the three lookups' ticks, ahead of the callbacks' own ticks.
      process.nextTick(() => log('tick after sends'));
      setTimeout(() => log('timeout'), 0);
      setImmediate(() => log('immediate'));
      a.on('message', (m) => {
        log('got ' + m);
        if (String(m) === 'three') a.close();
      });
      busyWait(2);
    });
  },
  // 25. The same under --test-udp-no-try-send (a child): the first send is written at once
  // (queue empty) and fed; the next two find a request outstanding and start the write
  // watcher; the pending phase writes them, then runs all three callbacks, before the poll
  // phase reads the datagrams.
  dgram_three_sends_no_try_send() {
    const { execFileSync } = require('child_process');
    process.stdout.write(execFileSync(process.execPath,
      ['--test-udp-no-try-send', __filename, 'dgram_three_sends']));
  },
  // 26. dgram: a readable event reads at most 32 datagrams (uv__udp_recvmsg's count), so
  // the check phase runs after the 32nd of 100 queued datagrams, then the rest are read.
  dgram_recv_budget() {
    const dgram = require('dgram');
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    let got = 0;
    b.on('message', (m) => {
      got++;
      if (got === 1) setImmediate(() => log('immediate from first message, got ' + got));
      if (got === 100) {
        log('got 100, last ' + m);
        a.close();
        b.close();
      }
    });
    b.bind(0, '127.0.0.1', () => a.bind(0, '127.0.0.1', () => {
      for (let i = 0; i < 100; i++) a.send('d' + i, b.address().port, '127.0.0.1');
      setImmediate(() => log('immediate after sends, got ' + got));
    }));
  },
};

const name = process.argv[2];
if (name === '--list') {
  log(Object.keys(scenarios).join('\n'));
} else if (scenarios[name]) {
  process.on('exit', (code) => log('exit ' + code));
  scenarios[name]();
} else {
  process.stderr.write('unknown scenario: ' + name + '\n');
  process.exit(2);
}
