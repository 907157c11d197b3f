//! The loop's selector: `selectors.EpollSelector` (`Lib/selectors.py`) and the reader/writer
//! bookkeeping of `BaseSelectorEventLoop` (`Lib/asyncio/selector_events.py`: `_add_reader`,
//! `_remove_reader`, `_add_writer`, `_remove_writer`, `_process_events`).
//!
//! ```text
//!   keys: fd -> Key { events: READ|WRITE, reader: Option<IoHandle>, writer: Option<IoHandle> }
//!
//!   add_reader(fd, cb)    no key: EPOLL_CTL_ADD(IN)        key: MOD only if the mask changes;
//!                         a previous reader is cancelled and replaced
//!   remove_reader(fd)     mask -= READ; empty: EPOLL_CTL_DEL, else MOD; the reader is cancelled
//!                         (a run of it already in the ready queue is skipped)
//!   select(timeout)       epoll_wait, level-triggered, timeout rounded up to the millisecond;
//!                         the eventfd (self-pipe) is read; each (fd, mask) gives its reader
//!                         (READ) then its writer (WRITE), in the kernel's order
//! ```
//!
//! As in `EpollSelector.select`, an event other than EPOLLIN (EPOLLOUT, EPOLLERR, EPOLLHUP)
//! counts as WRITE and an event other than EPOLLOUT counts as READ, so an error or hang-up wakes
//! both callbacks, and each sees the error when it touches the socket.
//!
//! Why epoll through `rustix` and not `mio` or `polling`: CPython's selector is level-triggered,
//! with one registration per fd kept until `remove_*`; a reader that does one `recv` per event
//! (as `_SelectorSocketTransport._read_ready` does) relies on being called again while data
//! remains. mio is edge-triggered and `polling` is oneshot (one `epoll_ctl` to re-arm per event);
//! both would change when callbacks run. rustix gives the plain `epoll_ctl`/`epoll_wait` without
//! `unsafe` here.
//!
//! The select hook ([`set_select_hook`]) stands for what CPython's `select.epoll.poll`
//! (`Modules/selectmodule.c`) does around `epoll_wait`: `Py_BEGIN_ALLOW_THREADS` ...
//! `Py_END_ALLOW_THREADS`, the one place where a running loop lets go of the GIL. This crate
//! has no GIL; a program that models one (the lab's convoy experiment runs the loop under
//! gil-threads' GIL) sets a hook on the loop's thread that releases it around the wait:
//!
//! ```text
//!   no hook (the default):  epoll_wait(timeout)
//!   hook h:                 h(wait)   h calls wait() once: epoll_wait(timeout) runs there
//! ```
//!
//! A selector takes the hook of its thread when it is created, so the wait costs one branch
//! more; every `epoll_wait` goes through it, zero timeouts included, as in CPython. A hook that
//! does not call the wait gives that pass no events, as an interrupted wait does.
//!
//! Invariants:
//! - a key exists exactly while its fd is registered with epoll, with `events` its interest;
//! - `events` is never empty for a key, and READ is in it iff `reader` is `Some` (WRITE, writer);
//! - the eventfd is registered for the selector's whole life under [`WAKEUP_TOKEN`], which no fd
//!   can equal; so is the signal self-pipe, once the loop has one (see [`crate::signals`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::event::Timespec;

/// `selectors.EVENT_READ`.
pub(crate) const EVENT_READ: u8 = 1;
/// `selectors.EVENT_WRITE`.
pub(crate) const EVENT_WRITE: u8 = 2;

/// The epoll data of the self-pipe's eventfd (an fd is never negative, so never this).
const WAKEUP_TOKEN: u64 = u64::MAX;

/// What wraps the selector's blocking wait (see [`set_select_hook`]): called with the wait,
/// which it must call once.
pub type SelectHook = Rc<dyn Fn(&mut dyn FnMut())>;

thread_local! {
    /// The hook that selectors created on this thread from now on take.
    static SELECT_HOOK: RefCell<Option<SelectHook>> = const { RefCell::new(None) };
}

/// Sets the hook that wraps every `epoll_wait` of the event loops created on the calling
/// thread from now on (`None`: no hook, the default), and returns the one set before. Loops
/// that exist already keep the hook they were created with.
///
/// It models what CPython does around the wait (`Py_BEGIN_ALLOW_THREADS`): a program that puts
/// the loop's thread under a GIL of its own releases it in the hook, so other threads run while
/// the loop waits for I/O, and the loop takes the GIL back before it runs a callback. The hook
/// runs on the loop's thread, in the middle of a pass of the loop.
pub fn set_select_hook(hook: Option<SelectHook>) -> Option<SelectHook> {
    SELECT_HOOK.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), hook))
}

/// A reader or writer callback: asyncio's `Handle` registered in a selector key. Unlike a
/// `call_soon` handle it runs once per event, until it is removed (cancelled).
pub(crate) struct IoHandle {
    callback: Rc<dyn Fn()>,
    cancelled: Cell<bool>,
    name: &'static str,
}

impl IoHandle {
    pub(crate) fn new(callback: Rc<dyn Fn()>, name: &'static str) -> Rc<Self> {
        Rc::new(IoHandle {
            callback,
            cancelled: Cell::new(false),
            name,
        })
    }

    pub(crate) fn cancel(&self) {
        self.cancelled.set(true);
    }

    /// `Handle.cancelled()`: removed from the selector, or replaced there.
    pub(crate) fn cancelled(&self) -> bool {
        self.cancelled.get()
    }

    /// `Handle._run`, unless it was cancelled since the event that queued it.
    pub(crate) fn run(&self) {
        if !self.cancelled.get() {
            (self.callback)();
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }
}

struct Key {
    events: u8,
    reader: Option<Rc<IoHandle>>,
    writer: Option<Rc<IoHandle>>,
}

fn epoll_flags(events: u8) -> EventFlags {
    let mut flags = EventFlags::empty();
    if events & EVENT_READ != 0 {
        flags |= EventFlags::IN;
    }
    if events & EVENT_WRITE != 0 {
        flags |= EventFlags::OUT;
    }
    flags
}

/// `EpollSelector` plus the loop's fd → (reader, writer) table.
pub(crate) struct Selector {
    epoll: OwnedFd,
    keys: RefCell<HashMap<RawFd, Key>>,
    events: RefCell<Vec<Event>>,
    /// The thread's [`set_select_hook`] when the selector was created.
    hook: Option<SelectHook>,
}

impl Selector {
    /// A new epoll instance with the self-pipe registered for reading.
    pub(crate) fn new(wakeup: Option<&OwnedFd>) -> io::Result<Self> {
        let wakeup = wakeup.ok_or_else(|| {
            io::Error::other("the loop's self-pipe (eventfd) could not be created")
        })?;
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(
            &epoll,
            wakeup,
            EventData::new_u64(WAKEUP_TOKEN),
            EventFlags::IN,
        )?;
        Ok(Selector {
            epoll,
            keys: RefCell::new(HashMap::new()),
            events: RefCell::new(Vec::with_capacity(64)),
            hook: SELECT_HOOK.with(|slot| slot.borrow().clone()),
        })
    }

    /// Registers another self-pipe (the signal socketpair, see [`crate::signals`]): it wakes the
    /// wait as the eventfd does and is reported as a wake-up, not a callback.
    pub(crate) fn add_wakeup_source(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        epoll::add(
            &self.epoll,
            fd,
            EventData::new_u64(WAKEUP_TOKEN),
            EventFlags::IN,
        )?;
        Ok(())
    }

    /// Whether any fd besides the self-pipes is registered.
    pub(crate) fn has_sources(&self) -> bool {
        !self.keys.borrow().is_empty()
    }

    /// `_add_reader` (`mask` = [`EVENT_READ`]) or `_add_writer` ([`EVENT_WRITE`]): register
    /// `handle` for `fd`, replacing (and cancelling) the one registered before.
    pub(crate) fn add(&self, fd: BorrowedFd<'_>, mask: u8, handle: Rc<IoHandle>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let mut keys = self.keys.borrow_mut();
        let previous = match keys.get_mut(&raw) {
            None => {
                epoll::add(
                    &self.epoll,
                    fd,
                    EventData::new_u64(raw as u64),
                    epoll_flags(mask),
                )?;
                let (reader, writer) = if mask == EVENT_READ {
                    (Some(handle), None)
                } else {
                    (None, Some(handle))
                };
                keys.insert(
                    raw,
                    Key {
                        events: mask,
                        reader,
                        writer,
                    },
                );
                None
            }
            Some(key) => {
                let events = key.events | mask;
                if events != key.events {
                    modify_or_add(&self.epoll, fd, events)?;
                    key.events = events;
                }
                let slot = if mask == EVENT_READ {
                    &mut key.reader
                } else {
                    &mut key.writer
                };
                slot.replace(handle)
            }
        };
        drop(keys);
        if let Some(previous) = previous {
            previous.cancel();
        }
        Ok(())
    }

    /// `_remove_reader` / `_remove_writer`: true when a callback was registered (it is
    /// cancelled).
    pub(crate) fn remove(&self, fd: BorrowedFd<'_>, mask: u8) -> io::Result<bool> {
        let raw = fd.as_raw_fd();
        let mut keys = self.keys.borrow_mut();
        let Some(key) = keys.get_mut(&raw) else {
            return Ok(false);
        };
        let events = key.events & !mask;
        let removed = if mask == EVENT_READ {
            key.reader.take()
        } else {
            key.writer.take()
        };
        let outcome = if events == 0 {
            keys.remove(&raw);
            match epoll::delete(&self.epoll, fd) {
                // Closed behind the selector's back: the kernel already forgot it.
                Err(rustix::io::Errno::NOENT) => Ok(()),
                other => other.map_err(io::Error::from),
            }
        } else if events != key.events {
            key.events = events;
            modify_or_add(&self.epoll, fd, events)
        } else {
            Ok(())
        };
        drop(keys);
        let was_registered = removed.is_some();
        if let Some(removed) = removed {
            removed.cancel();
        }
        outcome?;
        Ok(was_registered)
    }

    /// `select(timeout)` then `_process_events`: waits up to `timeout` (`None`: until an event),
    /// appends the reader and writer callbacks of the fds that are ready to `ready`, and tells
    /// whether the self-pipe was readable (it has been read). An interrupted wait (EINTR)
    /// returns with no event, as CPython's does.
    pub(crate) fn select(
        &self,
        timeout: Option<Duration>,
        ready: &mut Vec<Rc<IoHandle>>,
    ) -> io::Result<bool> {
        let mut events = self.events.borrow_mut();
        events.clear();
        let wanted = self.keys.borrow().len() + 1;
        if events.capacity() < wanted {
            events.reserve(wanted);
        }
        let timespec = timeout.map(|timeout| Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        });
        let waited = match &self.hook {
            None => epoll::wait(&self.epoll, spare_capacity(&mut events), timespec.as_ref()),
            Some(hook) => {
                let mut waited = Err(rustix::io::Errno::INTR);
                hook(&mut || {
                    events.clear();
                    waited =
                        epoll::wait(&self.epoll, spare_capacity(&mut events), timespec.as_ref());
                });
                waited
            }
        };
        match waited {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(false),
            Err(error) => return Err(error.into()),
        }
        let keys = self.keys.borrow();
        let mut woken = false;
        for event in events.iter() {
            let (flags, data) = (event.flags, event.data.u64());
            if data == WAKEUP_TOKEN {
                woken = true;
                continue;
            }
            let Some(key) = keys.get(&(data as RawFd)) else {
                continue;
            };
            let readable = !(flags & !EventFlags::OUT).is_empty();
            let writable = !(flags & !EventFlags::IN).is_empty();
            if readable {
                if let Some(reader) = &key.reader {
                    ready.push(reader.clone());
                }
            }
            if writable {
                if let Some(writer) = &key.writer {
                    ready.push(writer.clone());
                }
            }
        }
        Ok(woken)
    }

    /// Forget every registration, cancelling its callbacks (`loop.close()`).
    pub(crate) fn clear(&self) {
        let keys = std::mem::take(&mut *self.keys.borrow_mut());
        for key in keys.into_values() {
            key.reader
                .iter()
                .chain(&key.writer)
                .for_each(|h| h.cancel());
        }
    }
}

/// `EPOLL_CTL_MOD`, or `ADD` when the kernel dropped the registration because the fd was closed
/// (and perhaps reused) behind the selector's back.
fn modify_or_add(epoll: &OwnedFd, fd: BorrowedFd<'_>, events: u8) -> io::Result<()> {
    let data = EventData::new_u64(fd.as_raw_fd() as u64);
    match epoll::modify(epoll.as_fd(), fd, data, epoll_flags(events)) {
        Err(rustix::io::Errno::NOENT) => epoll::add(epoll.as_fd(), fd, data, epoll_flags(events)),
        other => other,
    }
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    fn counting(count: &Rc<Cell<u32>>) -> Rc<IoHandle> {
        let count = count.clone();
        IoHandle::new(Rc::new(move || count.set(count.get() + 1)), "counting")
    }

    fn events_of(selector: &Selector, fd: BorrowedFd<'_>) -> Option<u8> {
        selector
            .keys
            .borrow()
            .get(&fd.as_raw_fd())
            .map(|key| key.events)
    }

    #[test]
    fn masks_follow_add_and_remove_and_the_key_goes_with_the_last() {
        let wakeup =
            rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).expect("eventfd");
        let selector = Selector::new(Some(&wakeup)).expect("epoll");
        let (a, _b) = UnixStream::pair().expect("socketpair");
        let count = Rc::new(Cell::new(0));
        assert!(!selector.has_sources());
        selector
            .add(a.as_fd(), EVENT_READ, counting(&count))
            .expect("add");
        selector
            .add(a.as_fd(), EVENT_WRITE, counting(&count))
            .expect("add");
        assert_eq!(
            events_of(&selector, a.as_fd()),
            Some(EVENT_READ | EVENT_WRITE)
        );
        assert!(selector.remove(a.as_fd(), EVENT_READ).expect("remove"));
        assert!(!selector
            .remove(a.as_fd(), EVENT_READ)
            .expect("remove again"));
        assert_eq!(events_of(&selector, a.as_fd()), Some(EVENT_WRITE));
        assert!(selector.remove(a.as_fd(), EVENT_WRITE).expect("remove"));
        assert_eq!(events_of(&selector, a.as_fd()), None);
        assert!(!selector.has_sources());
    }

    #[test]
    fn a_replaced_reader_is_cancelled_and_only_the_new_one_is_reported() {
        let wakeup =
            rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).expect("eventfd");
        let selector = Selector::new(Some(&wakeup)).expect("epoll");
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let (old, new) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let first = counting(&old);
        selector
            .add(a.as_fd(), EVENT_READ, first.clone())
            .expect("add");
        selector
            .add(a.as_fd(), EVENT_READ, counting(&new))
            .expect("replace");
        assert!(first.cancelled.get());
        b.write_all(b"x").expect("write");
        let mut ready = Vec::new();
        let woken = selector
            .select(Some(Duration::from_millis(1000)), &mut ready)
            .expect("select");
        assert!(!woken);
        assert_eq!(ready.len(), 1);
        ready.iter().for_each(|handle| handle.run());
        assert_eq!((old.get(), new.get()), (0, 1));
    }

    #[test]
    fn the_self_pipe_is_reported_as_a_wakeup_not_a_callback() {
        let wakeup =
            rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).expect("eventfd");
        let selector = Selector::new(Some(&wakeup)).expect("epoll");
        rustix::io::write(&wakeup, &1u64.to_ne_bytes()).expect("write");
        let mut ready = Vec::new();
        let woken = selector
            .select(Some(Duration::from_millis(1000)), &mut ready)
            .expect("select");
        assert!(woken);
        assert!(ready.is_empty());
    }
}
