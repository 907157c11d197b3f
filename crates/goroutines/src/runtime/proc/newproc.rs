//! Starting a goroutine (Go's `newproc`, `newproc1`, `malg`) and the free lists of dead Gs it
//! takes from (Go's `gfget`, `gfput`).
//!
//! Invariants:
//! - A G on a free list is dead and held by nobody; `init_g` readies it before it is queued.
//! - A P's own free list holds fewer than `GFREE_MAX` Gs: at the limit half move to the global
//!   list under `sched.lock`, and an empty one refills with up to half that from it.
//! - A G is never freed, so `malg` carves Gs out of leaked blocks of `G_BLOCK` and never gives a
//!   slot back: one `malloc` per 64 Gs, and no malloc header and rounding per G (glibc served
//!   each G, 144 to 152 bytes, from a 160-byte chunk). Every slot of a block is handed out once.

use std::mem::MaybeUninit;
use std::sync::PoisonError;

use super::*;

/// Free Gs a P keeps before moving half to the global free list (Go's `gfput`).
const GFREE_MAX: usize = 64;

/// Gs allocated at a time by `malg`.
const G_BLOCK: usize = 64;

/// The slots of the last block `malg` allocated that it has not handed out yet. One for the
/// process, not per runtime: the slots are plain memory until `malg` writes a G of its runtime
/// into one, and no G is ever freed. A `std` mutex, not `crate::loom`'s: it guards an allocation,
/// no protocol a model checks, and a static needs a `const` constructor.
static G_BLOCK_REST: std::sync::Mutex<&'static mut [MaybeUninit<G>]> =
    std::sync::Mutex::new(&mut []);

impl Sched {
    /// Starts a goroutine (Go's `newproc`); `at` is where the `go` call was.
    pub(crate) fn newproc(
        &'static self,
        entry: Arc<dyn crate::runtime::task::Runnable>,
        at: &'static Location<'static>,
    ) -> u64 {
        let id = self.next_goid.fetch_add(1, Ordering::Relaxed);
        let parent = crate::runtime::g::current_g().map(|c| {
            // SAFETY: the current goroutine is alive.
            unsafe { c.as_ref() }.id.load(Ordering::Relaxed)
        });
        if probe::trace::enabled() {
            probe::trace::record(probe::trace::EventKind::Spawn { task: id, parent });
        }
        let created = (parent.unwrap_or(0), at);
        let mut entry = Some(entry);
        let placed = self.with_own_p(|p| {
            // SAFETY: `with_own_p` runs this with the caller's own P.
            let g = unsafe { self.gfget(p) }.unwrap_or_else(|| self.malg());
            self.init_g(g, id, entry.take(), created);
            p.count_goroutine(1);
            // SAFETY: as above.
            unsafe { self.runqput(p, g, true) };
        });
        if placed.is_none() {
            let g = self.lock().gfree.pop().unwrap_or_else(|| self.malg());
            self.init_g(g, id, entry.take(), created);
            self.ngoroutines_no_p.fetch_add(1, Ordering::Relaxed);
            self.globrunqput(g);
        }
        self.wakep();
        id
    }

    /// Readies a fresh or recycled G to run `entry` as goroutine `id`, started by goroutine
    /// `created.0` (0: a plain thread) at `created.1`.
    fn init_g(
        &self,
        g: GRef,
        id: u64,
        entry: Option<Arc<dyn crate::runtime::task::Runnable>>,
        created: (u64, &'static Location<'static>),
    ) {
        // SAFETY: a G taken from a free list or just allocated is held by nobody else.
        let gr = unsafe { g.as_ref() };
        gr.id.store(id, Ordering::Relaxed);
        gr.set_created(created.0, created.1);
        // SAFETY: as above: we are the only holder of this G.
        unsafe { *gr.entry.get() = entry };
        gr.status.store(G_IDLE, Ordering::Relaxed);
    }

    fn malg(&'static self) -> GRef {
        let slot = {
            let mut rest = G_BLOCK_REST.lock().unwrap_or_else(PoisonError::into_inner);
            if rest.is_empty() {
                *rest = Box::leak(Box::new_uninit_slice(G_BLOCK));
            }
            let (slot, tail) = std::mem::take(&mut *rest)
                .split_first_mut()
                .expect("a block of Gs is never empty");
            *rest = tail;
            slot
        };
        let g = NonNull::from(slot.write(G::new(self)));
        self.allgs.lock().unwrap_or_else(|e| e.into_inner()).push(g);
        g
    }

    /// # Safety
    /// The caller's M holds `p`.
    unsafe fn gfget(&self, p: &P) -> Option<GRef> {
        // SAFETY: the caller holds `p`.
        let gfree = unsafe { &mut *p.gfree.get() };
        if gfree.is_empty() {
            let mut st = self.lock();
            let n = st.gfree.len().min(GFREE_MAX / 2);
            let at = st.gfree.len() - n;
            gfree.extend(st.gfree.drain(at..));
        }
        let g = gfree.pop();
        p.gfreecnt.store(gfree.len() as u32, Ordering::Relaxed);
        g
    }

    /// # Safety
    /// The caller's M holds `p`, and `g` is dead and held by nobody.
    #[inline]
    pub(super) unsafe fn gfput(&self, p: &P, g: GRef) {
        // SAFETY: the caller holds `p`.
        let gfree = unsafe { &mut *p.gfree.get() };
        gfree.push(g);
        if gfree.len() >= GFREE_MAX {
            let mut st = self.lock();
            st.gfree.extend(gfree.drain(GFREE_MAX / 2..));
        }
        p.gfreecnt.store(gfree.len() as u32, Ordering::Relaxed);
    }
}
