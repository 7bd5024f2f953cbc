//! Each member's role as the engine sees it now (B35–B37, D12): serving as an active member,
//! waiting as a standby member, a standby member promoted because every active member is gone,
//! or down. A reader's view (scenarios state it at a checkpoint); the engine decides nothing
//! from it.

use std::collections::BTreeMap;

use crate::engine::HaEngine;

/// A member's role in its group, as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Alive and active: load balancing may choose it (B25).
    Active,
    /// Alive standby member while an active member is alive: it gets every object and serves
    /// nothing (B35).
    Standby,
    /// Alive standby member serving because no active member is alive (B36, D12).
    Promoted,
    /// Dropped, not recovered yet (or never reached).
    Down,
}

impl Role {
    /// `active`, `standby`, `promoted`, `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Active => "active",
            Role::Standby => "standby",
            Role::Promoted => "promoted",
            Role::Down => "down",
        }
    }
}

impl HaEngine {
    /// Every member's role by serial, for the groups the running application was initialised
    /// with (empty before `C_Initialize`). A member removed from its group is left out.
    pub fn member_roles(&self) -> BTreeMap<String, Role> {
        let mut out = BTreeMap::new();
        let Some(rt) = &self.runtime else {
            return out;
        };
        for g in &rt.groups {
            for (m, member) in g.members.iter().enumerate() {
                let role = if !member.is_alive() {
                    if matches!(member.liveness, crate::state::Liveness::Removed) {
                        continue;
                    }
                    Role::Down
                } else if !member.standby {
                    Role::Active
                } else if g.is_usable(m) {
                    Role::Promoted
                } else {
                    Role::Standby
                };
                out.insert(member.serial.clone(), role);
            }
        }
        out
    }
}
