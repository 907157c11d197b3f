//! Starting a goroutine (Go's `newproc`, `newproc1`, `malg`) and the free lists of dead Gs it
//! takes from (Go's `gfget`, `gfput`).
//!
//! Invariants:
//! - A G on a free list is dead and held by nobody; `init_g` readies it before it is queued.
//! - A P's own free list holds fewer than `GFREE_MAX` Gs: at the limit half move to the global
//!   list under `sched.lock`, and an empty one refills with up to half that from it.

use super::*;

/// Free Gs a P keeps before moving half to the global free list (Go's `gfput`).
const GFREE_MAX: usize = 64;

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
        let g = NonNull::from(Box::leak(Box::new(G::new(self))));
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
