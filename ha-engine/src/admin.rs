//! What the administration side (LunaCM, the `lunacm` crate) may do to a running engine. In the
//! product LunaCM is its own program: it edits the configuration file the application's library
//! reads and talks to the members over its own connections. What reaches the application's
//! engine is this small interface, and nothing else:
//!
//! - [`HaEngine::apply_config`]: the configuration (and the HA log settings) changed: after a
//!   `hagroup` command (`retry`, `interval`, `recoverymode`, `haonly`, `halog`, standby, members
//!   added or removed, `HASynchronize`...) or a Chrystoki.conf edit. Settings take effect at once
//!   and the runtime follows (standby flags at once, B38; a new member at the next recovery pass,
//!   B54; a removed one leaves now, B24). [`HaEngine::check_config`] says beforehand whether a
//!   configuration can be applied: a group the running application was initialised with may not
//!   be removed or renumbered.
//! - [`HaEngine::request_recovery`] (in [`crate::recovery`]): `hagroup recover` or a raised
//!   `[HARecovery]` counter (B45).
//! - [`HaEngine::running_group`]: whether the running application was initialised with a group.
//! - [`HaEngine::forget_cleared_objects`]: `partition clear` emptied a group's members; the
//!   engine forgets the token objects and keeps a tombstone of each for the members not cleared,
//!   applied when they are next compared with the group's table (D7).
//!
//! Reading the configuration back is [`HaEngine::config`] and [`HaEngine::log_settings`].

use std::collections::BTreeSet;

use crate::config::{ClientConfig, RecoveryMode};
use crate::engine::HaEngine;
use crate::log::HaLogSettings;
use crate::ports::{Millis, ObjectClass, ObjectId};

/// A configuration the running engine cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigRejected {
    /// The application was initialised with the group at `VirtualToken<nn>`; the configuration
    /// removes it or moves another group there.
    #[error("group {label} (VirtualToken{nn:02}) is in use by the running application")]
    GroupInUse {
        /// The running group's label.
        label: String,
        /// Its position in the configuration (`NN`).
        nn: usize,
    },
}

impl HaEngine {
    /// Whether `config` can be applied now: every group the running application was
    /// initialised with keeps its label at its position (the runtime follows groups by `NN`).
    /// Always `Ok` before `C_Initialize`.
    pub fn check_config(&self, config: &ClientConfig) -> Result<(), ConfigRejected> {
        let Some(rt) = self.runtime.as_ref() else {
            return Ok(());
        };
        for g in &rt.groups {
            let same = config
                .groups
                .get(g.index)
                .is_some_and(|c| c.label.eq_ignore_ascii_case(&g.label));
            if !same {
                return Err(ConfigRejected::GroupInUse {
                    label: g.label.clone(),
                    nn: g.index,
                });
            }
        }
        Ok(())
    }

    /// Replaces the client configuration and the HA log settings (nothing changes when
    /// [`HaEngine::check_config`] refuses). While the application runs, the runtime follows:
    /// standby flags apply at once (B38), a member added to a group joins at the next recovery
    /// pass (B54), a removed one leaves now (B24), and recovery is rescheduled for the new retry
    /// count and interval (a shorter interval brings pending attempts forward).
    pub fn apply_config(
        &mut self,
        config: ClientConfig,
        log: HaLogSettings,
        now: Millis,
    ) -> Result<(), ConfigRejected> {
        self.check_config(&config)?;
        let old_mode = self.config.mode;
        self.config = config;
        self.publish_timeouts();
        self.log.set_settings(log);
        self.follow_mode_change(old_mode);
        crate::membership::follow_config(self, now);
        self.reschedule_recovery(now);
        Ok(())
    }

    /// D25: a change of recovery mode applies to what happens from now on. A total loss
    /// survived under activeEnhanced (a member has returned since) is over and nothing is
    /// taken back from the sessions that survived it; a switch to activeBasic while every
    /// member of a group is still gone applies the activeBasic rule to that outage in progress
    /// (D11: sessions and login lost). A switch to activeEnhanced restores nothing an
    /// activeBasic loss already took.
    fn follow_mode_change(&mut self, old: RecoveryMode) {
        if old == self.config.mode || self.config.mode != RecoveryMode::ActiveBasic {
            return;
        }
        let in_progress: Vec<usize> = self
            .runtime
            .as_ref()
            .map(|rt| {
                (0..rt.groups.len())
                    .filter(|&g| rt.groups[g].offline)
                    .collect()
            })
            .unwrap_or_default();
        for g in in_progress {
            self.lose_authenticated_state(g);
        }
    }

    /// The configuration index (`NN`) of the group labelled `label` (compared without case),
    /// when the running application was initialised with it.
    pub fn running_group(&self, label: &str) -> Option<usize> {
        self.runtime.as_ref().and_then(|rt| {
            rt.groups
                .iter()
                .find(|gr| gr.label.eq_ignore_ascii_case(label))
                .map(|gr| gr.index)
        })
    }

    /// After `partition clear` on group `label` cleared at least one member: the running
    /// application's engine forgets the group's token objects (their virtual handles become
    /// invalid) and keeps a tombstone of exactly those objects for the members in
    /// `not_cleared`, applied when they recover (D7). Objects the engine does not know of are
    /// not remembered. Returns false (and does nothing) when the application does not run with
    /// the group.
    pub fn forget_cleared_objects(&mut self, label: &str, not_cleared: &[String]) -> bool {
        let Some(rt) = self.runtime.as_mut() else {
            return false;
        };
        let Some(g) = rt
            .groups
            .iter()
            .position(|gr| gr.label.eq_ignore_ascii_case(label))
        else {
            return false;
        };
        let group = &mut rt.groups[g];
        let cleared: Vec<(ObjectId, ObjectClass)> = group
            .objects
            .values()
            .filter(|o| o.token)
            .map(|o| (o.id.clone(), o.class))
            .collect();
        let ids: BTreeSet<ObjectId> = cleared.iter().map(|(id, _)| id.clone()).collect();
        group.objects.retain(|_, o| !o.token);
        let pending: BTreeSet<String> = group
            .members
            .iter()
            .map(|m| m.serial.clone())
            .filter(|serial| not_cleared.contains(serial))
            .collect();
        for member in &mut group.members {
            member.handles.retain(|(id, _), _| !ids.contains(id));
        }
        if !pending.is_empty() {
            for key in cleared {
                group
                    .tombstones
                    .entry(key)
                    .or_default()
                    .extend(pending.iter().cloned());
            }
        }
        rt.objects
            .retain(|_, o| o.group != g || !ids.contains(&o.id));
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::config::RetryLimit;
    use crate::test_support::{engine_with, group_config};

    #[test]
    fn a_running_group_may_not_be_removed_or_renumbered() {
        let mut engine = engine_with(&["11", "22", "33"]);
        let mut two = group_config("g", &["11"]);
        two.groups.extend(group_config("h", &["22"]).groups);
        engine
            .apply_config(two.clone(), HaLogSettings::default(), 0)
            .expect("before C_Initialize anything goes");
        engine.initialize(0).expect("initialize");
        assert_eq!(engine.running_group("G"), Some(0));
        assert_eq!(engine.running_group("h"), Some(1));
        assert_eq!(engine.running_group("x"), None);

        let mut without_g = two.clone();
        without_g.groups.remove(0);
        let refused = ConfigRejected::GroupInUse {
            label: "g".to_string(),
            nn: 0,
        };
        assert_eq!(engine.check_config(&without_g), Err(refused.clone()));
        without_g.retry = RetryLimit::Bounded(3);
        assert_eq!(
            engine.apply_config(without_g, HaLogSettings::default(), 0),
            Err(refused)
        );
        assert_eq!(engine.config(), &two, "nothing changed on a refusal");

        // Settings and a group added after the running ones are fine.
        let mut more = two.clone();
        more.retry = RetryLimit::Unlimited;
        more.groups.extend(group_config("k", &["33"]).groups);
        let log = HaLogSettings {
            path: Some("/ha-logs".to_string()),
            ..HaLogSettings::default()
        };
        engine
            .apply_config(more.clone(), log.clone(), 0)
            .expect("apply");
        assert_eq!(engine.config(), &more);
        assert_eq!(engine.log_settings(), &log);
        assert_eq!(engine.running_group("k"), None, "not initialised with it");
    }

    #[test]
    fn clearing_a_group_the_application_does_not_run_changes_nothing() {
        let mut engine = engine_with(&["11"]);
        assert!(!engine.forget_cleared_objects("g", &[]));
        engine
            .apply_config(group_config("g", &["11"]), HaLogSettings::default(), 0)
            .expect("apply");
        engine.initialize(0).expect("initialize");
        assert!(engine.forget_cleared_objects("g", &[]));
        assert!(!engine.forget_cleared_objects("other", &[]));
    }
}
