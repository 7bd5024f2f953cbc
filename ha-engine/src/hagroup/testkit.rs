//! Test partitions for the `hagroup` tests: the crate's shared fake members
//! ([`crate::test_support`]) given the vendor `properties` extension (so the prerequisites can
//! be exercised), plus an engine built over them and a way to run a command line.

use std::collections::BTreeMap;

use crate::engine::HaEngine;
use crate::hagroup::{CommandOutput, execute};
use crate::ports::{AuthKind, HsmForm, MemberProperties, Secret};
use crate::test_support::{FakeControl, fixture};

/// The CO credential of every test partition unless changed.
pub(crate) const CO: &str = crate::test_support::FIXTURE_CO;

/// Default properties: a Network HSM `hsm-<serial>` on 7.7.0 with the B9 policies on.
pub(crate) fn props(serial: &str) -> MemberProperties {
    MemberProperties {
        hsm_serial: format!("hsm-{serial}"),
        form: HsmForm::Network,
        firmware: (7, 7, 0),
        auth: AuthKind::Password,
        hsm_policies: BTreeMap::from([(7, 1), (12, 0), (16, 1), (21, 0)]),
        partition_policies: BTreeMap::from([(0, 1), (4, 1), (22, 0)]),
        domain_fingerprint: "dom1-fp".to_string(),
        activated: true,
        co_credential_changed: true,
        v1: false,
        activation_fingerprint: None,
    }
}

/// An engine over test partitions with these serials, in slot order, and their controls.
pub(crate) fn engine(serials: &[&str]) -> (HaEngine, Vec<FakeControl>) {
    let f = fixture(serials);
    for (control, serial) in f.controls.iter().zip(serials) {
        control.set_props(props(serial));
    }
    (f.engine, f.controls)
}

/// Runs a line with the test credential.
pub(crate) fn run(engine: &mut HaEngine, line: &str) -> CommandOutput {
    execute(engine, 0, line, Some(&Secret::new(CO)))
}
