//! Reporting a goroutine's stack overflow: a `SIGSEGV`/`SIGBUS` handler that recognises a fault in
//! the running goroutine's guard page, and the alternate signal stack it runs on.
//!
//! ```text
//!  scheduler (g0)                      goroutine stack                 handler (sigaltstack)
//!  set_current_g(g)              ---> runs, recurses, touches guard --> si_addr in g.guard?
//!  set_current_g(null)           <--- suspends                           yes: "goroutine id stack
//!                                                                             overflow", abort()
//!                                                                        no: previous handler
//!
//! The handler finds the running goroutine through the same thread-local the runtime keeps for
//! `current_g` (`g::running_guard`), so a switch costs no extra bookkeeping for it.
//! ```
//!
//! The previous handler is usually std's, which reports overflows of thread stacks ("thread 'x'
//! has overflowed its stack") the same way and otherwise restores the default action and returns,
//! so that the fault repeats and kills the process with the right signal. Where the previous
//! action was `SIG_DFL` or `SIG_IGN` this handler does that itself. A previous handler runs with
//! this handler's mask and flags, not its own; `SA_RESETHAND` or `SA_NODEFER` on it are not honoured.

use std::cell::RefCell;
use std::mem;
use std::ptr;
use std::sync::{Once, OnceLock};

use super::arena::guard_page;
use super::page_size;

thread_local! {
    /// This thread's alternate signal stack, if `ensure_altstack` made it.
    static ALTSTACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();
/// The actions in place before ours, read by the handler. `OnceLock::get` never blocks.
static PREVIOUS_SIGSEGV: OnceLock<libc::sigaction> = OnceLock::new();
static PREVIOUS_SIGBUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Installs the overflow handler for `SIGSEGV` and `SIGBUS`, once per process; later calls do
/// nothing. Every thread that runs goroutines also needs [`ensure_altstack`].
pub(crate) fn install_overflow_handler() {
    INSTALL.call_once(|| {
        install(libc::SIGSEGV, &PREVIOUS_SIGSEGV);
        install(libc::SIGBUS, &PREVIOUS_SIGBUS);
    });
}

fn install(signal: libc::c_int, previous: &OnceLock<libc::sigaction>) {
    // SAFETY: `sigaction` is a plain C struct of integers, a signal set and an optional function
    // pointer; all zeros is a valid value (handler SIG_DFL, no flags, empty mask).
    let mut old: libc::sigaction = unsafe { mem::zeroed() };
    // SAFETY: a query (null new action) into a valid out-pointer.
    unsafe { libc::sigaction(signal, ptr::null(), &mut old) };
    // Saved before ours is installed, so that the handler always finds it.
    let _ = previous.set(old);

    // SAFETY: as above, all zeros is a valid `sigaction`.
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = on_fault as *const () as libc::sighandler_t;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a valid signal set to initialise. The handler has the signature that
    // `SA_SIGINFO` announces and is async-signal-safe (see `on_fault`).
    unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

/// The handler. Everything it calls is async-signal-safe: a thread-local load, `write`, `abort`,
/// `sigaction`, an atomic load in `OnceLock::get`, and the previous handler, which was itself
/// installed as a signal handler.
pub(super) extern "C" fn on_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: with `SA_SIGINFO` the kernel passes a valid `siginfo_t`; for SIGSEGV and SIGBUS its
    // `si_addr` is the faulting address.
    let address = unsafe { (*info).si_addr() } as usize;
    // Async-signal-safe: see `running_guard`.
    let (lo, hi, goid) = crate::runtime::g::running_guard();
    if lo <= address && address < hi {
        report_overflow(goid);
    }
    chain(signal, info, context);
}

/// Writes `goroutine <goid> stack overflow` to stderr and aborts, with no allocation and no lock.
fn report_overflow(goid: u64) -> ! {
    let mut digits = [0u8; 20];
    let digits = decimal(goid, &mut digits);
    // 10 + at most 20 + 16 bytes.
    let mut message = [0u8; 64];
    let mut len = 0;
    for part in [
        b"goroutine ".as_slice(),
        digits,
        b" stack overflow\n".as_slice(),
    ] {
        message[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    let mut written = 0;
    while written < len {
        // SAFETY: `write` is async-signal-safe; the pointer and length describe initialised bytes
        // of `message`.
        let n = unsafe { libc::write(2, message[written..len].as_ptr().cast(), len - written) };
        if n <= 0 {
            break;
        }
        written += n as usize;
    }
    // SAFETY: `abort` is async-signal-safe and never returns.
    unsafe { libc::abort() }
}

/// The decimal digits of `n`, written into the end of `buffer`.
pub(super) fn decimal(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[start..];
        }
    }
}

/// Hands a fault that is not a goroutine overflow to the action that was in place before ours.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = match signal {
        libc::SIGSEGV => PREVIOUS_SIGSEGV.get(),
        libc::SIGBUS => PREVIOUS_SIGBUS.get(),
        _ => None,
    };
    let Some(previous) = previous else {
        return restore_default(signal);
    };
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // Put the old action back and return: the faulting instruction runs again and the
            // kernel applies that action (a fault signal cannot really be ignored: it kills).
            // SAFETY: `sigaction` is async-signal-safe; `previous` is a valid action the kernel
            // gave us.
            unsafe { libc::sigaction(signal, previous, ptr::null_mut()) };
        }
        handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the kernel reported this value as a handler installed with `SA_SIGINFO`, so it
            // is a function with this signature, made to be called on a signal.
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { mem::transmute(handler) };
            handler(signal, info, context);
        }
        handler => {
            // SAFETY: the kernel reported this value as a handler installed without `SA_SIGINFO`,
            // so it is a function taking the signal number, made to be called on a signal.
            let handler: extern "C" fn(libc::c_int) = unsafe { mem::transmute(handler) };
            handler(signal);
        }
    }
}

fn restore_default(signal: libc::c_int) {
    // SAFETY: all zeros is a valid `sigaction` with handler `SIG_DFL`; `sigaction` is
    // async-signal-safe.
    unsafe {
        let default: libc::sigaction = mem::zeroed();
        libc::sigaction(signal, &default, ptr::null_mut());
    }
}

/// Size of the alternate signal stacks this module makes, guard page excluded. The handler needs
/// well under a page; the rest is for the previous handler it may chain to.
const ALTSTACK_SIZE: usize = 64 * 1024;

/// Gives the calling thread an alternate signal stack if it has none, so that the overflow handler
/// can run when a goroutine has exhausted its stack. Call it at the start of every scheduler
/// thread. Threads spawned by std already have one (std's own overflow handler needs it) and keep
/// it. The stack is freed when the thread exits. If it cannot be mapped, the thread goes without:
/// an overflow then still kills the process, by `SIGSEGV` and without the goroutine's id.
pub(crate) fn ensure_altstack() {
    let _ = ALTSTACK.try_with(|slot| {
        if slot.borrow().is_some() || has_altstack() {
            return;
        }
        *slot.borrow_mut() = AltStack::install();
    });
}

fn has_altstack() -> bool {
    // SAFETY: all zeros is a valid `stack_t`.
    let mut current: libc::stack_t = unsafe { mem::zeroed() };
    // SAFETY: a query (null new stack) into a valid out-pointer.
    let queried = unsafe { libc::sigaltstack(ptr::null(), &mut current) } == 0;
    queried && current.ss_flags & libc::SS_DISABLE == 0
}

/// An alternate signal stack this module mapped: a guard page, then `ALTSTACK_SIZE` bytes.
struct AltStack {
    mapping: usize,
    len: usize,
}

impl AltStack {
    fn install() -> Option<AltStack> {
        let page = page_size();
        let len = page + ALTSTACK_SIZE;
        // SAFETY: a fresh anonymous private mapping; it aliases nothing.
        let mapping = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mapping == libc::MAP_FAILED {
            return None;
        }
        let altstack = AltStack {
            mapping: mapping as usize,
            len,
        };
        // The same guard as goroutine stacks get; on failure, dropping `altstack` unmaps it.
        // SAFETY: the first page of the read-write mapping just made, which holds nothing yet.
        unsafe { guard_page(altstack.mapping, page, None) }.ok()?;
        let stack = libc::stack_t {
            ss_sp: (altstack.mapping + page) as *mut libc::c_void,
            ss_flags: 0,
            ss_size: ALTSTACK_SIZE,
        };
        // SAFETY: `stack` describes memory this thread owns until `AltStack::drop` disables it.
        if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } != 0 {
            return None;
        }
        Some(altstack)
    }
}

impl Drop for AltStack {
    /// At thread exit: disables the alternate stack if it is still ours, then unmaps it.
    fn drop(&mut self) {
        // SAFETY: all zeros is a valid `stack_t`.
        let mut current: libc::stack_t = unsafe { mem::zeroed() };
        // SAFETY: a query into a valid out-pointer.
        unsafe { libc::sigaltstack(ptr::null(), &mut current) };
        if current.ss_sp as usize == self.mapping + page_size() {
            let disable = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disabling the alternate stack; we are not running on it (this is a
            // thread-local destructor, not a signal handler).
            unsafe { libc::sigaltstack(&disable, ptr::null_mut()) };
        }
        // SAFETY: the mapping is ours and, disabled or replaced as the alternate stack, no longer
        // used by anyone.
        unsafe { libc::munmap(self.mapping as *mut libc::c_void, self.len) };
    }
}
