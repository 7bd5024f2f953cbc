//! Test fixtures for the crate's unit tests: the engine's fake members
//! ([`ha_engine::test_support`]) with an application engine over them and a [`LunaCm`] over its
//! own connections to the same fake partitions, and a helper that runs LunaCM lines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use ha_engine::HaEngine;
use ha_engine::config::ClientConfig;
use ha_engine::ports::Secret;
pub(crate) use ha_engine::test_support::{FIXTURE_CO, FakeControl, MemorySink};

use crate::console::LunaCm;

/// The application's engine and LunaCM beside it, over the same fake partitions.
pub(crate) struct Fixture {
    /// The application's engine.
    pub(crate) engine: HaEngine,
    /// LunaCM, with its own connections to the partitions.
    pub(crate) cm: LunaCm,
    /// One control per physical slot, in slot order.
    pub(crate) controls: Vec<FakeControl>,
    /// The HA log.
    #[allow(dead_code)] // kept for tests that read the HA log
    pub(crate) sink: MemorySink,
}

impl Fixture {
    /// LunaCM's configuration (what the file says).
    pub(crate) fn config(&self) -> &ClientConfig {
        self.cm.config()
    }
}

/// An engine and LunaCM over fake members with these serials (labels `label-<serial>`).
pub(crate) fn fixture(serials: &[&str]) -> Fixture {
    let f = ha_engine::test_support::fixture(serials);
    let members = f
        .controls
        .iter()
        .zip(serials)
        .map(|(control, serial)| ha_engine::test_support::connection(control, serial))
        .collect();
    let cm = LunaCm::new(members, Box::new(f.sink.clone()));
    Fixture {
        engine: f.engine,
        cm,
        controls: f.controls,
        sink: f.sink,
    }
}

/// A fixture (see [`fixture`]).
pub(crate) fn engine_with(serials: &[&str]) -> Fixture {
    fixture(serials)
}

/// Runs one LunaCM line with the fixture credential and returns its rendered output lines.
pub(crate) fn lines(f: &mut Fixture, line: &str) -> Vec<String> {
    let credential = Secret::new(FIXTURE_CO);
    f.cm.execute(&mut f.engine, 0, line, Some(&credential))
        .render()
        .lines()
        .map(str::to_string)
        .collect()
}
