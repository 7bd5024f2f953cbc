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
//!   engine forgets the token objects and remembers the deletion for members not cleared (D7).
//!
//! Reading the configuration back is [`HaEngine::config`] and [`HaEngine::log_settings`].

use std::collections::BTreeSet;

use crate::config::ClientConfig;
use crate::engine::HaEngine;
use crate::log::HaLogSettings;
use crate::ports::{Millis, ObjectId};

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
        self.config = config;
        self.log.set_settings(log);
        crate::membership::follow_config(self, now);
        self.reschedule_recovery(now);
        Ok(())
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
    /// invalid) and remembers the deletion of exactly those objects for the members in
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
        let ids: BTreeSet<ObjectId> = group
            .objects
            .values()
            .filter(|o| o.token)
            .map(|o| o.id.clone())
            .collect();
        group.objects.retain(|_, o| !o.token);
        for member in &mut group.members {
            member.handles.retain(|(id, _), _| !ids.contains(id));
            if not_cleared.contains(&member.serial) {
                member.pending_deletes.extend(ids.iter().cloned());
            }
        }
        rt.objects
            .retain(|_, o| o.group != g || !ids.contains(&o.id));
        true
    }
}
