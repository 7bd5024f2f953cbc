//! The event queue and the one place where virtual time moves.
//!
//! Time policy (README, decisions): every member call costs its virtual duration at the moment
//! it is made, on the simulated thread that makes it. The fault injector measures each call
//! ([`crate::fault::FaultControl::take_elapsed`]); this module charges it:
//! - an application thread pays for its calls and for everything the engine does inside them
//!   (sessions, login, replication): [`pay`] after a synchronous engine call, and the
//!   `Threads` driver ([`crate::scheduler`]) for dispatched calls, whose answer is due at the
//!   end of their duration;
//! - recovery (probes, reintroduction, new-member copies) is its own simulated thread: a timer
//!   run at `t` that took `d` keeps that thread busy until `t + d`, so the next timer run starts
//!   no earlier, and the application never waits for it (B41).
//!
//! Events are ordered by `(time, tie-break, sequence)`; the tie-break is a draw from the seeded
//! tie stream when several threads run (so simultaneous events replay from the seed), 0 for one
//! thread. Virtual time never wraps: it ends at [`HORIZON_MS`], and a run that would pass it,
//! or that asks for more than [`MAX_TIMER_RUNS`] recovery timer runs, stops with an error.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use ha_engine::HaEngine;
use ha_engine::ports::Millis;

use crate::world::{World, WorldError};

/// The end of virtual time: 100 years of 365.25 days, in milliseconds. Scenario times are
/// checked against it at load; a run that would pass it stops with [`WorldError::BeyondHorizon`].
pub const HORIZON_MS: Millis = 36_525 * 86_400 * 1000;

/// The end of virtual time in whole seconds.
pub const HORIZON_S: u64 = HORIZON_MS / 1000;

/// Recovery timer runs one world may make: far above any finite recovery campaign (500
/// attempts per member), it gives `retry -1` (never exhausted) with a very long `Advance` a
/// clear end instead of a run that never finishes while its log grows.
pub const MAX_TIMER_RUNS: u64 = 100_000;

/// `seconds` as milliseconds, when that instant or span lies within [`HORIZON_MS`].
pub fn seconds_to_ms(seconds: u64) -> Option<Millis> {
    (seconds <= HORIZON_S).then(|| seconds * 1000)
}

/// `now + span`, when within [`HORIZON_MS`].
pub fn later(now: Millis, span: Millis) -> Result<Millis, WorldError> {
    match now.checked_add(span) {
        Some(t) if t <= HORIZON_MS => Ok(t),
        _ => Err(WorldError::BeyondHorizon { now, span }),
    }
}

/// Events ordered by virtual time, then tie-break, then insertion. The order lives in a heap of
/// small, unique keys; the events themselves stay put in a slab (they can be large).
#[derive(Debug)]
pub struct EventQueue<E> {
    order: BinaryHeap<Reverse<(Millis, u64, u64, usize)>>,
    slab: Vec<Option<E>>,
    free: Vec<usize>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            order: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Queues `event` at `at` with tie-break `tie`.
    pub fn push(&mut self, at: Millis, tie: u64, event: E) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                self.slab.len() - 1
            }
        };
        self.order.push(Reverse((at, tie, self.seq, slot)));
    }

    /// The earliest event.
    pub fn pop(&mut self) -> Option<(Millis, E)> {
        loop {
            let Reverse((at, _, _, slot)) = self.order.pop()?;
            self.free.push(slot);
            if let Some(event) = self.slab.get_mut(slot).and_then(Option::take) {
                return Some((at, event));
            }
        }
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// Moves virtual time to `to`: recovery timer runs due on the way happen at their instants (or
/// when the recovery thread is free again), each followed by `observe`.
pub fn advance_to(
    world: &mut World,
    to: Millis,
    observe: &mut dyn FnMut(&mut World),
) -> Result<(), WorldError> {
    let now = world.now();
    if to < now {
        return Err(WorldError::TimeBackwards { now, to });
    }
    if to > HORIZON_MS {
        return Err(WorldError::BeyondHorizon {
            now,
            span: to - now,
        });
    }
    // Every process's recovery thread (one process but for `World::add_process`).
    while let Some((at, who)) = world.next_timer() {
        if at > to {
            break;
        }
        world.count_timer_run(at)?;
        world.set_now(at);
        // The recovery thread pays for its member calls; the application does not.
        world.run_timer(who, at);
        observe(world);
    }
    world.set_now(to);
    Ok(())
}

/// One synchronous engine call on the application thread, at the current instant. Returns its
/// result and the virtual time its member calls took; the caller records it, then [`pay`]s.
pub fn call<R>(world: &mut World, f: impl FnOnce(&mut HaEngine, Millis) -> R) -> (R, Millis) {
    start_measure(world);
    let now = world.now();
    let r = f(world.engine(), now);
    (r, measured(world))
}

/// Starts measuring the member calls of what the application thread does next (for a caller
/// that needs the world itself meanwhile; [`call`] does this for one engine call).
pub fn start_measure(world: &mut World) {
    // Whatever was measured before was charged already or belongs to nobody waiting for it.
    let _ = world.take_elapsed();
}

/// The virtual time the member calls took since [`start_measure`].
pub fn measured(world: &mut World) -> Millis {
    world.take_elapsed()
}

/// The application thread pays `spent`: time moves on by it (recovery due meanwhile runs).
pub fn pay(
    world: &mut World,
    spent: Millis,
    observe: &mut dyn FnMut(&mut World),
) -> Result<(), WorldError> {
    if spent == 0 {
        return Ok(());
    }
    let to = later(world.now(), spent)?;
    advance_to(world, to, observe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_tie_then_insertion() {
        let mut q = EventQueue::default();
        q.push(5, 0, "late");
        q.push(1, 9, "early, high tie");
        q.push(1, 3, "early, low tie");
        q.push(1, 3, "early, low tie, second");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(
            order,
            [
                "early, low tie",
                "early, low tie, second",
                "early, high tie",
                "late"
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn time_never_wraps() {
        assert_eq!(seconds_to_ms(HORIZON_S), Some(HORIZON_MS));
        assert_eq!(seconds_to_ms(HORIZON_S + 1), None);
        // The value that used to wrap to 0.384 s.
        assert_eq!(seconds_to_ms(18_446_744_073_709_552), None);
        assert!(later(HORIZON_MS - 1, 1).is_ok());
        assert!(matches!(
            later(HORIZON_MS, 1),
            Err(WorldError::BeyondHorizon { .. })
        ));
        assert!(later(u64::MAX, u64::MAX).is_err());
    }

    /// A group of two model partitions, `retry -1`, the second member dropped and found out.
    fn world_with_a_member_down_for_ever() -> World {
        use ha_engine::ports::{KeyKind, Secret};
        use hsm_model::{HsmSpec, PartitionSpec};

        let co = "co";
        let mut world = World::new(crate::world::WorldConfig {
            seed: 0,
            start: crate::clock::SimCalendar::default().start(),
            pid: 1,
            hsms: vec![HsmSpec::new("h0"), HsmSpec::new("h1")],
            partitions: vec![
                PartitionSpec::new("1", "par0", "h0", "dom", co),
                PartitionSpec::new("2", "par1", "h1", "dom", co),
            ],
        })
        .expect("world");
        let secret = Secret::new(co);
        let config = ha_engine::config::ClientConfig {
            groups: vec![ha_engine::config::GroupConfig {
                label: "g".into(),
                members: vec!["1".into(), "2".into()],
                standby: Default::default(),
            }],
            retry: ha_engine::config::RetryLimit::Unlimited,
            ..Default::default()
        };
        world
            .engine()
            .apply_config(config, Default::default(), 0)
            .expect("configure");
        let e = world.engine();
        e.initialize(0).expect("initialise");
        let vs = e.open_session(0, 0).expect("session");
        e.login(0, vs, &secret).expect("login");
        let key = e
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("key")[0];
        world.apply("2", &crate::fault::Fault::Drop).expect("drop");
        for _ in 0..2 {
            world.engine().sign(0, vs, key, b"data").expect("sign");
        }
        assert!(world.engine().next_deadline().is_some(), "recovery pending");
        world
    }

    #[test]
    fn retry_for_ever_over_a_century_stops_at_the_timer_budget() {
        let mut world = world_with_a_member_down_for_ever();
        world.set_timer_budget(200);
        let mut runs = 0u64;
        let r = advance_to(&mut world, HORIZON_MS - 1, &mut |_| runs += 1);
        // Attempts every 60 s: run 201 would be at 201 minutes.
        assert!(
            matches!(
                r,
                Err(WorldError::TimerBudget {
                    at: 12_060_000,
                    runs: 200
                })
            ),
            "{r:?}"
        );
        assert_eq!(runs, 200, "each run observed once, none after the budget");
        assert_eq!(world.now(), 12_000_000, "time stands at the last run");
    }

    #[test]
    fn time_stops_at_its_end_and_never_goes_back() {
        let mut world = world_with_a_member_down_for_ever();
        let r = advance_to(&mut world, HORIZON_MS + 1, &mut |_| {});
        assert!(matches!(r, Err(WorldError::BeyondHorizon { .. })), "{r:?}");
        assert_eq!(world.now(), 0, "nothing ran");
        assert!(matches!(
            pay(&mut world, u64::MAX, &mut |_| {}),
            Err(WorldError::BeyondHorizon { .. })
        ));
        advance_to(&mut world, 1000, &mut |_| {}).expect("forward");
        assert!(matches!(
            advance_to(&mut world, 999, &mut |_| {}),
            Err(WorldError::TimeBackwards { .. })
        ));
    }
}
