//! The runtime following the configuration while the application runs: standby flags (B35,
//! B38), members added at run time (B24, B54) and members removed (B24, D13).

use crate::engine::HaEngine;
use crate::ports::Millis;

/// Brings the runtime's groups in line with the configuration.
pub(crate) fn follow_config(engine: &mut HaEngine, _now: Millis) {
    let config = engine.config.clone();
    let Some(rt) = engine.runtime.as_mut() else {
        return;
    };
    for group in &mut rt.groups {
        let Some(gc) = config.groups.get(group.index) else {
            continue;
        };
        for member in &mut group.members {
            member.standby = gc.standby.contains(&member.serial);
        }
    }
}
