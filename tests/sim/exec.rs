//! Time you step: a single-threaded executor over a virtual clock, in the
//! spirit of quinn-proto's `Pair` and turmoil's `Sim`. Every task runs until
//! it waits; then the clock jumps to the earliest timer. A run is a function
//! of its seed: no thread, no wall clock, no real IO.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_executor::{LocalPool, LocalSpawner};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::task::LocalSpawnExt;
use headstart::io::Clock;

/// splitmix64: small, fast, and good enough to pick faults.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / ((1u64 << 53) as f64)) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A child generator, so one component's draws do not shift another's.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

#[derive(Default)]
struct Timers {
    /// (due, id) → the waker of the sleep, once polled.
    due: BTreeMap<(u64, u64), Option<Waker>>,
    next_id: u64,
}

/// The virtual clock. Sleeps may fire late: `late` is the chance that one
/// does, by up to `late_max_ms`.
#[derive(Clone)]
pub struct SimClock {
    now: Rc<Cell<u64>>,
    timers: Rc<RefCell<Timers>>,
    late: Rc<RefCell<(Rng, f64, u64)>>,
}

impl SimClock {
    pub fn new(rng: Rng, late_chance: f64, late_max_ms: u64) -> Self {
        Self { now: Rc::new(Cell::new(0)), timers: Rc::default(), late: Rc::new(RefCell::new((rng, late_chance, late_max_ms))) }
    }

    pub fn now(&self) -> u64 {
        self.now.get()
    }

    fn next_due(&self) -> Option<u64> {
        self.timers.borrow().due.keys().next().map(|(due, _)| *due)
    }

    /// Moves time to `to` and wakes every sleep due by then.
    fn advance(&self, to: u64) {
        self.now.set(to.max(self.now.get()));
        let woken: Vec<Waker> = {
            let mut timers = self.timers.borrow_mut();
            let later = timers.due.split_off(&(to + 1, 0));
            let due = std::mem::replace(&mut timers.due, later);
            // Fired sleeps stay registered as "done" through their key
            // being gone; they check the clock when polled.
            due.into_values().flatten().collect()
        };
        for w in woken {
            w.wake();
        }
    }
}

/// A pending sleep; dropping it cancels its timer.
pub struct Sleep {
    clock: SimClock,
    key: Option<(u64, u64)>,
    ms: u32,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.clock.now();
        let key = match self.key {
            Some(key) => key,
            None => {
                let mut extra = 0;
                {
                    let mut late = self.clock.late.borrow_mut();
                    let (chance, max) = (late.1, late.2);
                    if chance > 0.0 && late.0.chance(chance) {
                        extra = 1 + late.0.below(max.max(1));
                    }
                }
                let mut timers = self.clock.timers.borrow_mut();
                timers.next_id += 1;
                let key = (now + u64::from(self.ms) + extra, timers.next_id);
                timers.due.insert(key, None);
                drop(timers);
                self.key = Some(key);
                key
            }
        };
        if now >= key.0 {
            self.clock.timers.borrow_mut().due.remove(&key);
            return Poll::Ready(());
        }
        let mut timers = self.clock.timers.borrow_mut();
        match timers.due.get_mut(&key) {
            Some(slot) => *slot = Some(cx.waker().clone()),
            // Fired by `advance` (woken) but the clock says not yet: cannot
            // happen, since advance moves `now` first.
            None => return Poll::Ready(()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.clock.timers.borrow_mut().due.remove(&key);
        }
    }
}

impl Clock for SimClock {
    fn now_ms(&self) -> f64 {
        self.now.get() as f64
    }

    async fn sleep(&self, ms: u32) {
        Sleep { clock: self.clone(), key: None, ms }.await
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The condition held.
    Done,
    /// Virtual time reached the limit first.
    TimeUp,
    /// Nothing can make progress and no timer is set: every task waits on
    /// something that will never come.
    Stuck,
}

/// The executor: tasks, the clock, and abortable groups of tasks (a crashed
/// host's).
pub struct Sim {
    pub clock: SimClock,
    pool: LocalPool,
    spawner: LocalSpawner,
}

impl Sim {
    pub fn new(clock: SimClock) -> Self {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        Self { clock, pool, spawner }
    }

    pub fn spawner(&self) -> Spawner {
        Spawner { inner: self.spawner.clone() }
    }

    /// Runs until `done()`, or until virtual time would pass `until_ms`.
    pub fn run_until(&mut self, until_ms: u64, done: impl Fn() -> bool) -> RunEnd {
        loop {
            self.pool.run_until_stalled();
            if done() {
                return RunEnd::Done;
            }
            let Some(due) = self.clock.next_due() else { return RunEnd::Stuck };
            if due > until_ms {
                self.clock.advance(until_ms);
                self.pool.run_until_stalled();
                return if done() { RunEnd::Done } else { RunEnd::TimeUp };
            }
            self.clock.advance(due);
        }
    }
}

/// Spawns tasks onto the simulation; cloneable into hosts.
#[derive(Clone)]
pub struct Spawner {
    inner: LocalSpawner,
}

impl Spawner {
    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) {
        self.inner.spawn_local(fut).expect("the simulation is running");
    }

    /// Spawns a task that [`AbortHandle::abort`] drops at once (a crash).
    pub fn spawn_abortable(&self, fut: impl Future<Output = ()> + 'static) -> AbortHandle {
        let (handle, registration) = AbortHandle::new_pair();
        self.spawn(async move {
            let _ = Abortable::new(fut, registration).await;
        });
        handle
    }
}
