//! What becomes unreachable is freed: JavaScript's collector frees a cycle once nothing
//! reaches it, Rust's `Rc` never does, so the runtime breaks each cycle where Node or libuv
//! makes its objects unreachable (a loop dropped, a handle closed, a socket's `close`
//! emitted, a run ended, a worker exited, a promise settled).
//!
//! Each test gives a callback (a listener, a reaction) a token and keeps only a `Weak` to
//! it; past that point the token must be gone. Every one of them failed before its cycle was
//! broken (the runs under AddressSanitizer's leak checker found them).

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex};

use uv_loop::dgram::{self, SocketType};
use uv_loop::events::{self, OnceOptions};
use uv_loop::uv::{CheckHandle, IdleHandle, Loop, RunMode, TimerHandle, UdpHandle};
use uv_loop::{run, worker, EventEmitter, Promise};

/// A value to capture, and the `Weak` that tells whether it was dropped.
fn token() -> (Rc<()>, Weak<()>) {
    let token = Rc::new(());
    let weak = Rc::downgrade(&token);
    (token, weak)
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// A handle holds its loop weakly (libuv's `handle->loop` owns nothing): a timer whose
/// callback holds the timer, stopped but never closed, goes with the loop.
#[test]
fn a_timer_holding_itself_goes_with_its_loop() {
    let (token, weak) = token();
    let fired = Rc::new(Cell::new(0));
    {
        let event_loop = Loop::new().expect("loop");
        let timer = TimerHandle::new(&event_loop);
        let (handle, count) = (timer.clone(), fired.clone());
        timer
            .start(
                move || {
                    let _ = &token;
                    count.set(count.get() + 1);
                    if count.get() == 3 {
                        handle.stop();
                    }
                },
                1,
                1,
            )
            .expect("start");
        assert!(!event_loop.run(RunMode::Default));
    }
    assert_eq!(fired.get(), 3);
    assert!(
        weak.upgrade().is_none(),
        "the timer's callback outlived its loop"
    );
}

/// Watchers whose callbacks hold each other, stopped from inside, go with the loop; a
/// handle used after its loop is gone finds nothing.
#[test]
fn watchers_holding_each_other_go_with_their_loop() {
    let (token, weak) = token();
    let idle = {
        let event_loop = Loop::new().expect("loop");
        let idle = IdleHandle::new(&event_loop);
        let check = CheckHandle::new(&event_loop);
        let (idle_handle, check_handle) = (idle.clone(), check.clone());
        idle.start(move || {
            let _ = &token;
            idle_handle.stop();
            check_handle.stop();
        })
        .expect("idle");
        let idle_handle = idle.clone();
        check.start(move || idle_handle.stop()).expect("check");
        event_loop.run(RunMode::Default);
        idle
    };
    assert!(
        weak.upgrade().is_none(),
        "the idle callback outlived its loop"
    );
    assert!(idle.event_loop().is_none());
    assert!(
        idle.is_closing(),
        "a handle without its loop reads as closed"
    );
    assert!(idle.start(|| {}).is_err());
}

/// Reads its handle when dropped, as a user value's `Drop` may.
struct ReadsItsHandle(IdleHandle, Rc<Cell<Option<bool>>>);

impl Drop for ReadsItsHandle {
    fn drop(&mut self) {
        self.1.set(Some(self.0.is_active()));
    }
}

/// `uv_close` ends a handle's life: its callback is dropped in the closing phase, while the
/// loop lives on, and with the loop's state released (what the callback held may read it).
#[test]
fn a_closed_handle_drops_its_callback() {
    let read = Rc::new(Cell::new(None));
    let event_loop = Loop::new().expect("loop");
    let idle = IdleHandle::new(&event_loop);
    let guard = ReadsItsHandle(idle.clone(), read.clone());
    let handle = idle.clone();
    idle.start(move || {
        let _ = &guard;
        handle.close(|| {}).expect("close");
    })
    .expect("idle");
    assert!(!event_loop.run(RunMode::Default));
    assert_eq!(
        read.get(),
        Some(false),
        "the closed handle kept its callback"
    );
}

/// A UDP handle left open, whose receive callback holds the handle: the loop's drop tears
/// the watcher down (its callbacks and queued sends go, none is called).
#[test]
fn an_open_udp_handle_holding_itself_goes_with_its_loop() {
    let (token, weak) = token();
    let sent = Rc::new(Cell::new(false));
    {
        let event_loop = Loop::new().expect("loop");
        let handle = UdpHandle::new(&event_loop);
        handle.bind(localhost()).expect("bind");
        let itself = handle.clone();
        handle
            .recv_start(Rc::new(move |_| {
                let _ = (&token, &itself);
            }))
            .expect("recv_start");
        handle.set_ref(false);
        let (itself, sent) = (handle.clone(), sent.clone());
        handle
            .send(
                b"queued".to_vec(),
                Some(handle.local_addr().expect("addr")),
                Some(Box::new(move |_| {
                    let _ = &itself;
                    sent.set(true);
                })),
            )
            .expect("send");
    }
    assert!(!sent.get(), "a torn-down request is not called back");
    assert!(weak.upgrade().is_none(), "the UDP handle outlived its loop");
}

/// Nothing is emitted on a socket after `close`: its listeners go then, with the socket they
/// hold (a `message` listener that closes its own socket, the usual shape).
#[test]
fn a_closed_socket_drops_its_listeners() {
    let (token, weak) = token();
    let got = Rc::new(Cell::new(0));
    let seen = got.clone();
    run(move || {
        let socket = dgram::create_socket(SocketType::Udp4);
        let itself = socket.clone();
        socket.on_message(move |_, _| {
            let _ = &token;
            seen.set(seen.get() + 1);
            itself.close().expect("close");
        });
        let sender = socket.clone();
        socket
            .bind_then(0, "127.0.0.1", move || {
                let port = sender.address().expect("bound").port();
                sender
                    .send(b"ping", port, "127.0.0.1", |_| {})
                    .expect("send");
            })
            .expect("bind");
    })
    .expect("run");
    assert_eq!(got.get(), 1);
    assert!(
        weak.upgrade().is_none(),
        "the closed socket kept its listener"
    );
}

/// A worker's handlers that hold their own ends (the port that replies, the `Worker` that
/// posts again) go once the worker has exited: the port's when the worker's loop has run
/// out, the `Worker`'s once its exit is delivered.
#[test]
fn worker_handlers_holding_their_ends_go_after_the_exit() {
    let (token, weak) = token();
    let (worker_token, worker_weak) = (Arc::new(()), Arc::new(Mutex::new(None)));
    let worker_weak_slot = worker_weak.clone();
    let exited = Rc::new(Cell::new(false));
    let exit_seen = exited.clone();
    run(move || {
        let w = worker::spawn(move |port: worker::ParentPort<u32, u32>| {
            *worker_weak_slot.lock().expect("slot") = Some(Arc::downgrade(&worker_token));
            let reply = port.clone();
            port.on_message(move |n| {
                let _ = &worker_token;
                reply.post_message(n + 1);
                reply.close();
            });
        })
        .expect("spawn");
        let w = Rc::new(w);
        let itself = w.clone();
        w.on_message(move |_| {
            let _ = (&token, &itself);
        });
        w.on_exit(move |exit| {
            exit.expect("the worker ended well");
            exit_seen.set(true);
        });
        w.post_message(1);
    })
    .expect("run");
    assert!(exited.get());
    let worker_side = worker_weak.lock().expect("slot").clone();
    assert!(
        worker_side.expect("the worker ran").upgrade().is_none(),
        "the port's handler outlived the worker"
    );
    assert!(
        weak.upgrade().is_none(),
        "the Worker's handler outlived the exit"
    );
}

/// A socket left open when the run ends (unreferenced, so the loop could end): the loop's
/// drop tears its handle down, and the socket's listeners go with it.
#[test]
fn an_open_socket_drops_its_listeners_when_the_run_ends() {
    let (token, weak) = token();
    run(move || {
        let socket = dgram::create_socket(SocketType::Udp4);
        socket.unref();
        let itself = socket.clone();
        socket.on_message(move |_, _| {
            let _ = (&token, &itself);
        });
        socket.bind(0, "127.0.0.1").expect("bind");
    })
    .expect("run");
    assert!(
        weak.upgrade().is_none(),
        "the open socket kept its listener"
    );
}

/// A promise that can never settle (its resolver is gone) is unreachable with its reactions:
/// a reaction holds its promise only once it has settled, as a PromiseReactionJob gets its
/// argument when it is queued.
#[test]
fn a_promise_that_never_settles_goes_with_its_reactions() {
    let (token, weak) = token();
    run(move || {
        let (pending, resolver) = Promise::<u32>::with_resolvers();
        drop(resolver);
        pending.then(move |_| drop(token)).then(|()| ());
    })
    .expect("run");
    assert!(
        weak.upgrade().is_none(),
        "the reactions outlived their promise"
    );
}

/// `Promise.race`: a loser that never settles does not keep the race's promise (and its
/// value) alive.
#[test]
fn a_race_loser_does_not_keep_the_race() {
    let (token, weak) = token();
    run(move || {
        let (loser, resolver) = Promise::<Rc<()>>::with_resolvers();
        drop(resolver);
        Promise::race(vec![loser, Promise::resolve(token)]).then(|_| ());
    })
    .expect("run");
    assert!(weak.upgrade().is_none(), "the race outlived its winner");
}

/// `events.once` whose event never comes: once the emitter is gone, the promise it returned
/// (it follows the inner one through `resolve_with`) goes with its reactions.
#[test]
fn a_pending_events_once_goes_with_its_emitter() {
    let (token, weak) = token();
    run(move || {
        let emitter = EventEmitter::<u32>::new();
        events::once(&emitter, "data", OnceOptions::default()).then(move |_| drop(token));
    })
    .expect("run");
    assert!(
        weak.upgrade().is_none(),
        "the once promise outlived its emitter"
    );
}
