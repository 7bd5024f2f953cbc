//! Load balancing (B25, B26, D6): the least busy usable member (fewest calls in flight); ties go
//! to the next member after the one chosen last, so with nothing in flight it is round-robin
//! starting at the primary. Standby members serve only when no active member is alive.

use crate::state::GroupRuntime;

/// Chooses the member for the next call in `group`, or `None` when no member is usable.
pub fn choose(group: &GroupRuntime) -> Option<usize> {
    choose_except(group, &[])
}

/// As [`choose`], leaving out members already known not to hold the object.
pub fn choose_except(group: &GroupRuntime, except: &[usize]) -> Option<usize> {
    let n = group.members.len();
    if n == 0 {
        return None;
    }
    let start = group.last_chosen.map_or(0, |last| (last + 1) % n);
    let mut best: Option<(u32, usize)> = None;
    for step in 0..n {
        let m = (start + step) % n;
        if !group.is_usable(m) || except.contains(&m) {
            continue;
        }
        let load = group.members[m].in_flight;
        if best.is_none_or(|(best_load, _)| load < best_load) {
            best = Some((load, m));
        }
    }
    best.map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::state::{Down, DownReason, Liveness, MemberRuntime};

    fn group(n: usize) -> GroupRuntime {
        GroupRuntime {
            index: 0,
            label: "g".into(),
            members: (0..n)
                .map(|i| MemberRuntime::new(i, format!("m{i}"), false))
                .collect(),
            objects: BTreeMap::new(),
            last_chosen: None,
            offline: false,
            loss_generation: 0,
            device_type_logged: false,
            logged_in: false,
        }
    }

    #[test]
    fn idle_group_is_round_robin_from_the_primary() {
        let mut g = group(3);
        let mut order = Vec::new();
        for _ in 0..5 {
            let m = choose(&g).expect("a member");
            g.last_chosen = Some(m);
            order.push(m);
        }
        assert_eq!(order, vec![0, 1, 2, 0, 1]);
    }

    #[test]
    fn least_busy_wins_over_rotation() {
        let mut g = group(3);
        g.members[1].in_flight = 2;
        g.members[2].in_flight = 1;
        g.last_chosen = Some(0);
        assert_eq!(choose(&g), Some(0));
    }

    #[test]
    fn standby_serves_only_when_no_active_is_alive() {
        let mut g = group(2);
        g.members[1].standby = true;
        g.last_chosen = Some(0);
        assert_eq!(choose(&g), Some(0));
        g.members[0].liveness = Liveness::Down(Down {
            reason: DownReason::Dropped,
            attempts: 0,
            since: 0,
            next_attempt: None,
            exhausted: false,
            manual: false,
        });
        assert_eq!(choose(&g), Some(1));
    }
}
