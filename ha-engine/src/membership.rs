//! The runtime following the configuration while the application runs: standby flags (B35,
//! B38), members added at run time (B24, B54: detected at the next recovery pass, one interval
//! later, then replicated to and scheduled) and members removed (B24, D13: out of the group at
//! once; the group serial follows the configuration).

use crate::engine::HaEngine;
use crate::ports::Millis;
use crate::state::{Down, DownReason, Liveness, MemberRuntime};

/// Brings the runtime's groups in line with the configuration.
pub(crate) fn follow_config(engine: &mut HaEngine, now: Millis) {
    let config = engine.config.clone();
    let slots: Vec<String> = engine.slot_serials();
    let Some(rt) = engine.runtime.as_mut() else {
        return;
    };
    for group in &mut rt.groups {
        let Some(gc) = config.groups.get(group.index) else {
            continue;
        };
        for member in &mut group.members {
            member.standby = gc.standby.contains(&member.serial);
            let configured = gc.members.contains(&member.serial);
            if !configured && member.liveness != Liveness::Removed {
                tracing::debug!(member = %member.serial, "member removed from the group");
                member.forget_connection();
                member.liveness = Liveness::Removed;
            }
        }
        for serial in &gc.members {
            let known = group
                .members
                .iter()
                .any(|m| m.serial == *serial && m.liveness != Liveness::Removed);
            let Some(slot) = slots.iter().position(|s| s == serial) else {
                continue;
            };
            if known {
                continue;
            }
            tracing::debug!(member = %serial, "member added to the group; joins at the next pass");
            let mut member = MemberRuntime::new(slot, serial.clone(), gc.standby.contains(serial));
            member.liveness = Liveness::Down(Down {
                reason: DownReason::New,
                attempts: 0,
                since: now,
                next_attempt: Some(crate::recovery::deadline_after(now, config.interval_s)),
                exhausted: false,
                manual: false,
            });
            group.members.push(member);
        }
    }
}
