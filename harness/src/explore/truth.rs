//! What was true below the `Member` port over virtual time, computed from the faults and the
//! operator's commands alone: whether each member was healthy (reachable, not revoked, not hung
//! past the receive timeout, activated, with the group's credential, in the group), and from
//! when a member the engine may have seen fail counts as *usable* again: from its next due
//! recovery attempt (D9, D19; an attempt that may have found it busy failed, D43, and the next
//! is due one interval later), and only while attempts cannot have been exhausted.
//!
//! "Usable" is deliberately conservative: when the facts allow the engine to be right in
//! refusing a member (an attempt may not be due yet, attempts may have run out), the member is
//! not counted, so an invariant built on it never blames the engine for a legitimate choice.

use std::collections::BTreeMap;

use super::observe::{FaultObs, Millis, Settings};

/// The client's receive timeout (B28): a member hanging longer than this is dropped.
const RECEIVE_TIMEOUT_MS: u64 = 20_000;

/// Slack added to "one interval" bounds: the attempt runs at the deadline, the copy after it.
const SLACK_MS: Millis = 1_000;

/// One member's facts.
#[derive(Clone, Debug, Default)]
struct MemberFacts {
    connected: bool,
    revoked: bool,
    hung: bool,
    /// Under `IdleCut` (D35): reachable (a reconnect works) but its connection may be cut at
    /// any later call, so never counted healthy until `Restore`.
    idle_cut: bool,
    activated: bool,
    credential_ok: bool,
    in_group: bool,
    /// When the current healthy period began (`None` while unhealthy).
    healthy_since: Option<Millis>,
    /// When the last unhealthy period began, if there was one since it joined.
    outage_start: Option<Millis>,
    /// When it joined the group (0 for members at the start).
    joined_at: Millis,
    /// Joined at run time (detected at the next recovery pass).
    added: bool,
    /// When its credential last stopped working (`LoginFailure`): a login failure disables
    /// automatic recovery for the member until `hagroup recover` (B49, D10).
    login_failed_at: Option<Millis>,
    /// When its credential last worked again (`LoginRestore`).
    login_restored_at: Option<Millis>,
    /// `Busy`: calls answer `CKR_FUNCTION_FAILED` until this instant (D35); cleared by
    /// `Restore`.
    busy_until: Option<Millis>,
    /// Every `Busy` spell, `[from, until)`, cut short by `Restore`.
    busy_spells: Vec<(Millis, Millis)>,
    /// It lost its connection (or its activation) while in service and the engine has not
    /// talked to it since: the engine's next call to it fails by rule, even when the fault is
    /// over by then (D19, "an outage over before the next call is still noticed"), so it is
    /// not usable until that call has found it and its recovery has run.
    unnoticed: bool,
}

impl MemberFacts {
    fn healthy(&self) -> bool {
        self.connected
            && !self.revoked
            && !self.hung
            && !self.idle_cut
            && self.activated
            && self.credential_ok
            && self.in_group
    }
}

/// The truth over time, advanced event by event.
#[derive(Clone, Debug)]
pub struct Truth {
    members: BTreeMap<String, MemberFacts>,
    /// `(since, value)` of the retry count in force.
    retry: Vec<(Millis, i32)>,
    /// `(since, seconds)` of the interval in force.
    interval: Vec<(Millis, u32)>,
    /// `(since, enhanced)` of the recovery mode in force.
    enhanced: Vec<(Millis, bool)>,
    /// Instants of `hagroup recover`.
    recovers: Vec<Millis>,
    /// Application login: the last successful login and the last loss of the login.
    last_login: Option<Millis>,
    last_logout: Option<Millis>,
    /// Every change of the login, in order: when, and logged in after it.
    logins: Vec<(Millis, bool)>,
    logged_in: bool,
}

impl Truth {
    /// The truth at time 0.
    pub fn new(members: &[String], spares: &[String], settings: &Settings) -> Truth {
        let mut map = BTreeMap::new();
        for m in members {
            map.insert(
                m.clone(),
                MemberFacts {
                    connected: true,
                    activated: true,
                    credential_ok: true,
                    in_group: true,
                    healthy_since: Some(0),
                    ..MemberFacts::default()
                },
            );
        }
        for s in spares {
            map.insert(
                s.clone(),
                MemberFacts {
                    connected: true,
                    activated: true,
                    credential_ok: true,
                    ..MemberFacts::default()
                },
            );
        }
        Truth {
            members: map,
            retry: vec![(0, settings.retry)],
            interval: vec![(0, settings.interval)],
            enhanced: vec![(0, settings.enhanced)],
            recovers: Vec::new(),
            last_login: None,
            last_logout: None,
            logins: Vec::new(),
            logged_in: false,
        }
    }

    fn update(&mut self, member: &str, at: Millis, change: impl FnOnce(&mut MemberFacts)) {
        // A member that fails again before it can have come back is still in the same outage:
        // its attempts count on from the first failure (D9), so they may have run out (B44)
        // although the last unhealthy period alone is short.
        let was_back = self.usable(member, at);
        let facts = self.members.entry(member.to_string()).or_default();
        let before = facts.healthy();
        change(facts);
        let after = facts.healthy();
        if before && !after {
            facts.healthy_since = None;
            if was_back || facts.outage_start.is_none() {
                facts.outage_start = Some(at);
            }
        } else if !before && after {
            facts.healthy_since = Some(at);
        }
    }

    /// A fault at `at`.
    pub fn fault(&mut self, member: &str, fault: &FaultObs, at: Millis) {
        match fault {
            FaultObs::Drop => self.update(member, at, |f| f.connected = false),
            FaultObs::Restore => self.update(member, at, |f| {
                f.connected = true;
                f.revoked = false;
                f.hung = false;
                f.idle_cut = false;
                f.busy_until = None;
                if let Some(spell) = f.busy_spells.last_mut() {
                    spell.1 = spell.1.min(at);
                }
            }),
            FaultObs::Deactivate => self.update(member, at, |f| f.activated = false),
            FaultObs::Activate => self.update(member, at, |f| f.activated = true),
            FaultObs::Revoke => self.update(member, at, |f| f.revoked = true),
            FaultObs::LoginFailure => self.update(member, at, |f| {
                f.credential_ok = false;
                f.login_failed_at = Some(at);
            }),
            FaultObs::LoginRestore => self.update(member, at, |f| {
                f.credential_ok = true;
                f.login_restored_at = Some(at);
            }),
            FaultObs::Slow(ms) => {
                let hung = *ms > RECEIVE_TIMEOUT_MS;
                self.update(member, at, |f| f.hung = hung);
            }
            // A hang never answers: dropped at the receive timeout (D35).
            FaultObs::Hang => self.update(member, at, |f| f.hung = true),
            // The next call's answer is lost with the connection: unreachable from now on
            // (conservatively from the instant of the fault, not of that call).
            FaultObs::LostAnswer => self.update(member, at, |f| f.connected = false),
            // An idle connection may be cut at any later call, which the engine rightly takes
            // for a drop: never counted usable again until `Restore` (conservative). The member
            // itself stays reachable: the call after a cut reconnects (D35).
            FaultObs::IdleCut(_) => self.update(member, at, |f| f.idle_cut = true),
            // Busy answers are not drops (D3); an object made outside the group changes no
            // member's health.
            // Busy answers are not drops (D3): the member stays healthy, only busy.
            FaultObs::Busy(ms) => {
                let until = at.saturating_add(*ms);
                self.update(member, at, |f| {
                    f.busy_until = Some(until);
                    f.busy_spells.push((at, until));
                });
            }
            FaultObs::DirectModify(_) | FaultObs::DirectChange(_) => {}
            FaultObs::MemberAdded => self.join(member, at),
        }
    }

    /// Whether `member` answers every call with `CKR_FUNCTION_FAILED` at `at` (`Busy`, D35):
    /// it stays in service (D3) but cannot apply anything then.
    pub fn busy(&self, member: &str, at: Millis) -> bool {
        self.members
            .get(member)
            .and_then(|f| f.busy_until)
            .is_some_and(|until| at < until)
    }

    /// A call to `member` failed with a drop code at `at` (read in the injector): whatever the
    /// faults say, the engine has lost it then and takes it back at a recovery attempt (D3, D9).
    pub fn detected(&mut self, member: &str, at: Millis) {
        if let Some(f) = self.members.get_mut(member) {
            f.unnoticed = false;
            if f.healthy() {
                f.outage_start = Some(at);
                f.healthy_since = Some(at);
            }
        }
    }

    /// A fault cut the connection of `member` (or deactivated it) while the engine counted it
    /// in service: until the engine notices ([`Truth::detected`], [`Truth::noticed`]) it is not
    /// usable (D19).
    pub fn lost_unnoticed(&mut self, member: &str) {
        if let Some(f) = self.members.get_mut(member) {
            f.unnoticed = true;
        }
    }

    /// The engine's log says it took `member` out (dropped, deactivated, ...): its outage is
    /// noticed; from now on the usual recovery bounds apply.
    pub fn noticed(&mut self, member: &str) {
        if let Some(f) = self.members.get_mut(member) {
            f.unnoticed = false;
        }
    }

    fn join(&mut self, member: &str, at: Millis) {
        let facts = self.members.entry(member.to_string()).or_default();
        if facts.in_group {
            return;
        }
        facts.in_group = true;
        facts.added = true;
        facts.joined_at = at;
        facts.outage_start = None;
        facts.healthy_since = if facts.healthy() { Some(at) } else { None };
        if !facts.healthy() {
            facts.outage_start = Some(at);
        }
    }

    /// A LunaCM command line at `at` (only what changes membership or recovery matters).
    pub fn command(&mut self, line: &str, output: &str, at: Millis) {
        if !output.contains("Command Result : No Error") {
            return;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let arg = |name: &str| {
            words
                .iter()
                .position(|w| *w == name)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        match words.get(1).copied() {
            Some("retry") => {
                if let Some(n) = arg("-count").and_then(|v| v.parse().ok()) {
                    self.retry.push((at, n));
                }
            }
            Some("interval") => {
                if let Some(n) = arg("-interval").and_then(|v| v.parse().ok()) {
                    self.interval.push((at, n));
                }
            }
            Some("recoverymode") => {
                if let Some(mode) = arg("-mode") {
                    self.enhanced.push((at, mode == "activeEnhanced"));
                }
            }
            Some("recover") => self.recovers.push(at),
            Some("removemember") => {
                if let Some(serial) = arg("-serialnumber") {
                    self.update(serial, at, |f| f.in_group = false);
                }
            }
            Some("addmember") => {
                if let Some(serial) = arg("-serialnumber") {
                    self.join(serial, at);
                }
            }
            _ => {}
        }
    }

    /// The application logged in (`true`) or lost its login (`false`) at `at`.
    pub fn login(&mut self, logged_in: bool, at: Millis) {
        self.logins.push((at, logged_in));
        self.logged_in = logged_in;
        if logged_in {
            self.last_login = Some(at);
        } else {
            self.last_logout = Some(at);
        }
    }

    /// Whether the application holds a login now.
    pub fn logged_in(&self) -> bool {
        self.logged_in
    }

    /// Whether a call issued at `at` could find the application logged in: it was logged in
    /// just before `at`, or logged in at that instant (a call issued and a logout made at one
    /// instant may have come in either order; D60).
    pub fn login_held_at(&self, at: Millis) -> bool {
        let before = self
            .logins
            .iter()
            .take_while(|(t, _)| *t < at)
            .last()
            .is_some_and(|(_, l)| *l);
        before || self.logins.iter().any(|(t, l)| *t == at && *l)
    }

    /// Whether the application lost its login after `from` and at or before `to`: a call in
    /// flight over that span ran under a login that ended (D66, D71).
    pub fn login_lost_between(&self, from: Millis, to: Millis) -> bool {
        self.logins
            .iter()
            .any(|(t, l)| !*l && *t >= from && *t <= to)
    }

    /// Logged in, and already before `at` (not by a login made at that very instant).
    pub fn logged_in_before(&self, at: Millis) -> bool {
        self.logged_in && self.last_login.is_some_and(|li| li < at)
    }

    /// The recovery mode in force at `at` (`true` = activeEnhanced).
    pub fn enhanced_at(&self, at: Millis) -> bool {
        in_force(&self.enhanced, at).unwrap_or(false)
    }

    /// The interval in force at `at`, seconds.
    pub fn interval_at(&self, at: Millis) -> u32 {
        in_force(&self.interval, at).unwrap_or(60)
    }

    /// The retry count in force at `at`.
    pub fn retry_at(&self, at: Millis) -> i32 {
        in_force(&self.retry, at).unwrap_or(0)
    }

    /// When automatic recovery was switched back on after `from`: if the retry count in force
    /// at `from` was 0 (no attempt scheduled), the first instant in `(from, to]` at which a
    /// non-zero count took effect. A new retry count schedules a member that was waiting for
    /// nothing one interval from the change ("Attempts follow the settings in force").
    /// A count set to 0 after `from` and switched on again before `to` cancelled the attempt
    /// scheduled then: the last such switch counts.
    pub fn recovery_resumed(&self, from: Millis, to: Millis) -> Option<Millis> {
        let mut before = self.retry_at(from);
        let mut resumed = None;
        for (since, r) in self.retry.iter().filter(|(s, _)| *s > from && *s <= to) {
            if before == 0 && *r != 0 {
                resumed = Some(*since);
            }
            before = *r;
        }
        resumed
    }

    /// Members in the group now.
    pub fn group(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, f)| f.in_group)
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// Whether `member` answers calls now (reachable, not revoked or hung, activated), whatever
    /// its credential.
    pub fn reachable(&self, member: &str) -> bool {
        self.members
            .get(member)
            .is_some_and(|f| f.connected && !f.revoked && !f.hung && f.activated)
    }

    /// Whether the group's credential logs in on `member` (no `LoginFailure`).
    pub fn credential_ok(&self, member: &str) -> bool {
        self.members.get(member).is_some_and(|f| f.credential_ok)
    }

    /// Whether the engine's next call to `member` reaches it: healthy, and no fault struck it
    /// since the engine last talked to it (a connection lost meanwhile is found by that call,
    /// D19).
    pub fn answers(&self, member: &str) -> bool {
        self.members
            .get(member)
            .is_some_and(|f| f.healthy() && !f.unnoticed)
    }

    /// Whether `member` is healthy now.
    pub fn healthy(&self, member: &str) -> bool {
        self.members.get(member).is_some_and(MemberFacts::healthy)
    }

    /// Whether the member may legitimately never come back by itself: automatic recovery was
    /// off, or attempts may have run out during its last outage (D9, B44).
    pub fn may_be_exhausted(&self, member: &str) -> bool {
        let Some(f) = self.members.get(member) else {
            return true;
        };
        // B49, D10: a `hagroup recover` re-enables recovery only if its attempt can log in; one
        // run while the credential still fails logs `can not login` again and disables it
        // again, so only a recover at or after the credential works again counts.
        if let Some(failed) = f.login_failed_at {
            let works_from = f.login_restored_at.filter(|ok| *ok >= failed);
            if !works_from.is_some_and(|ok| self.recovers.iter().any(|r| *r >= ok)) {
                return true;
            }
        }
        let (Some(healthy), Some(start)) = (f.healthy_since, f.outage_start) else {
            return false;
        };
        // Attempts that found the member busy failed (D43) and counted (D9): the failures may
        // go on until its last busy instant.
        let since = last_busy(f, healthy, Millis::MAX).map_or(healthy, |b| b.max(healthy));
        // The retry counts in force from the outage's start until the attempt that brings it
        // back is due (one interval after it became healthy, D9): a count set to 0 in between
        // cancels that attempt (B44), even when it was set after the member was reachable again.
        let first = u64::from(self.interval_at(since)) * 1000 + SLACK_MS;
        let longest = changes_over(&self.interval, since, since.saturating_add(first))
            .iter()
            .map(|(_, i)| u64::from(*i) * 1000 + SLACK_MS)
            .max()
            .unwrap_or(first);
        let window: Vec<(Millis, i32)> =
            changes_over(&self.retry, start, since.saturating_add(longest));
        if window.iter().any(|(_, r)| *r == 0) {
            return true;
        }
        let Some(min_retry) = window.iter().filter(|(_, r)| *r > 0).map(|(_, r)| *r).min() else {
            return false; // -1 all along: never exhausts
        };
        let min_interval = changes_over(&self.interval, start, since)
            .iter()
            .map(|(_, i)| u64::from(*i))
            .min()
            .unwrap_or(60)
            .max(1);
        let failed_max = (since - start) / (min_interval * 1000);
        failed_max + 1 >= u64::try_from(min_retry).unwrap_or(u64::MAX)
    }

    /// After a failed login (B49, D10): the first `hagroup recover` at or after the credential
    /// worked again, which re-enabled the member's automatic recovery.
    fn reenabled_at(f: &MemberFacts, recovers: &[Millis]) -> Option<Millis> {
        let failed = f.login_failed_at?;
        let works_from = f.login_restored_at.filter(|ok| *ok >= failed)?;
        recovers.iter().copied().find(|r| *r >= works_from)
    }

    /// Whether `member` counts as usable at `at` (see the module doc).
    pub fn usable(&self, member: &str, at: Millis) -> bool {
        let Some(f) = self.members.get(member) else {
            return false;
        };
        if !f.healthy() || f.unnoticed {
            return false;
        }
        let Some(since) = f.healthy_since else {
            return false;
        };
        let max_interval_ms = |from: Millis| {
            changes_over(&self.interval, from, at)
                .iter()
                .map(|(_, i)| u64::from(*i) * 1000)
                .max()
                .unwrap_or(60_000)
        };
        if f.outage_start.is_none() {
            if !f.added {
                return true;
            }
            // A member added at run time is detected at the next pass and copied to (B54).
            return at >= since + max_interval_ms(since) + SLACK_MS && self.login_since(since);
        }
        let back_from = if self.may_be_exhausted(member) {
            // Only a manual recovery brings it back (B45): the attempt runs at the next drive.
            // One made while the member was busy fails (`CKR_FUNCTION_FAILED`, D43) and, with
            // automatic recovery off or exhausted, nothing follows it (D24 "Retry 0"): only a
            // recover while it is not busy counts. A recover at the very instant the outage
            // began may have had its attempt run before the member was lost (the engine finds
            // a lost connection at its next call, D19): only one after it counts.
            let busy_at = |t: Millis| {
                f.busy_spells
                    .iter()
                    .any(|(from, until)| *from <= t && t < *until)
            };
            match self
                .recovers
                .iter()
                .find(|r| **r > since && **r <= at && !busy_at(**r))
            {
                Some(r) => *r + max_interval_ms(*r) + SLACK_MS,
                None => return false,
            }
        } else {
            let first = since + max_interval_ms(since) + SLACK_MS;
            // An attempt (due, or one a `hagroup recover` ran) that finds the member busy
            // fails (`CKR_FUNCTION_FAILED`, D43) and the next is due one interval after it
            // (D9): a busy spell that began before the member was surely back may have held
            // such an attempt up to its last instant; one that began after it changes nothing
            // (busy answers drop nothing, D3).
            let mut automatic = first;
            let mut spells: Vec<(Millis, Millis)> = f
                .busy_spells
                .iter()
                .filter(|(from, until)| *until > since && *from <= at)
                .copied()
                .collect();
            spells.sort_unstable();
            for (from, until) in spells {
                if from < automatic {
                    let busy = until.saturating_sub(1).min(at);
                    automatic = automatic.max(busy + max_interval_ms(busy) + SLACK_MS);
                }
            }
            // B49, D10: after a failed login only the `hagroup recover` that re-enabled recovery
            // (one at or after the credential worked again) starts attempts again: the first
            // runs at the next drive, up to one interval after that recover.
            match Self::reenabled_at(f, &self.recovers) {
                Some(r) => automatic.max(r + max_interval_ms(r) + SLACK_MS),
                None => automatic,
            }
        };
        at >= back_from && self.login_since(since)
    }

    /// The application was logged in throughout since `since`, or logged in again after it
    /// (a member reconnected while nobody was logged in is reconciled at the next login).
    fn login_since(&self, since: Millis) -> bool {
        self.logged_in
            && (self.last_logout.is_none_or(|lo| lo < since)
                || self.last_login.is_some_and(|li| li >= since))
    }

    /// Every member in the group at `at` that counts as usable.
    pub fn usable_members(&self, at: Millis) -> Vec<String> {
        self.group()
            .into_iter()
            .filter(|m| self.usable(m, at))
            .collect()
    }
}

/// The value in force at `at` in a `(since, value)` history.
fn in_force<T: Copy>(history: &[(Millis, T)], at: Millis) -> Option<T> {
    history
        .iter()
        .rev()
        .find(|(since, _)| *since <= at)
        .map(|(_, v)| *v)
}

/// The last instant of `[since, at]` at which the member was busy (`Busy`, D35), if any.
fn last_busy(f: &MemberFacts, since: Millis, at: Millis) -> Option<Millis> {
    f.busy_spells
        .iter()
        .filter(|(from, until)| *until > since && *from <= at)
        .map(|(_, until)| until.saturating_sub(1).min(at))
        .max()
}

/// The values in force at some instant of `[from, to]`. Events of one instant are ordered
/// (B45, D21): a setting changed at `from` itself may have come after what happened then, so
/// the value in force just before `from`, and each value set at `from`, count too (D108; seed
/// 894398: a manual recovery's attempt exhausted a retry count of 1, and a count of 7 set at
/// the same instant, after it, revived nothing).
fn changes_over<T: Copy>(history: &[(Millis, T)], from: Millis, to: Millis) -> Vec<(Millis, T)> {
    let mut out: Vec<(Millis, T)> = Vec::new();
    let changed_then = history.iter().any(|(since, _)| *since == from);
    let before = if changed_then {
        from.checked_sub(1).and_then(|b| in_force(history, b))
    } else {
        in_force(history, from)
    };
    if let Some(first) = before {
        out.push((from, first));
    }
    out.extend(
        history
            .iter()
            .filter(|(since, _)| *since >= from && *since <= to)
            .filter(|(since, _)| changed_then || *since > from)
            .copied(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(retry: i32) -> Settings {
        Settings {
            retry,
            interval: 60,
            enhanced: false,
            failover_on_deactivation: false,
            synchronize: true,
            ha_only: false,
            naive_slot: false,
        }
    }

    fn truth(retry: i32) -> Truth {
        let mut t = Truth::new(&["A".into(), "B".into()], &[], &settings(retry));
        t.login(true, 0);
        t
    }

    #[test]
    fn a_member_never_down_is_usable_at_once() {
        assert!(truth(3).usable("A", 5));
    }

    #[test]
    fn a_restored_member_is_usable_one_interval_later() {
        let mut t = truth(3);
        t.fault("B", &FaultObs::Drop, 10_000);
        t.fault("B", &FaultObs::Restore, 30_000);
        assert!(!t.usable("B", 30_000));
        assert!(!t.usable("B", 90_000));
        assert!(t.usable("B", 91_000));
    }

    #[test]
    fn attempts_that_may_have_run_out_need_a_manual_recovery() {
        let mut t = truth(2);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 200_000);
        assert!(t.may_be_exhausted("B"));
        assert!(!t.usable("B", 1_000_000));
        t.command("hagroup recover", "Command Result : No Error", 1_000_000);
        assert!(t.usable("B", 1_061_000));
    }

    #[test]
    fn a_recover_while_the_credential_still_fails_does_not_reenable_recovery() {
        let mut t = truth(-1);
        t.fault("B", &FaultObs::LoginFailure, 10_000);
        t.command("hagroup recover", "Command Result : No Error", 20_000);
        t.fault("B", &FaultObs::LoginRestore, 30_000);
        // The recover's attempt failed to log in (B49): recovery is off again.
        assert!(t.may_be_exhausted("B"));
        assert!(!t.usable("B", 1_000_000));
        t.command("hagroup recover", "Command Result : No Error", 1_000_000);
        assert!(!t.may_be_exhausted("B"));
        assert!(t.usable("B", 1_061_000));
    }

    #[test]
    fn after_a_failed_login_a_member_is_back_one_interval_after_the_recover_not_before() {
        // Seed 75575: the login failed during the outage and automatic recovery stopped
        // (B49, D10); the credential works again long before the `hagroup recover` that
        // re-enables recovery: the member cannot be back before the attempt that recover
        // starts, at most one interval later.
        let mut t = truth(357);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 0);
        t.fault("B", &FaultObs::LoginFailure, 0);
        t.fault("B", &FaultObs::LoginRestore, 660_000);
        assert!(!t.usable("B", 700_000), "recovery is off until a recover");
        t.command("hagroup recover", "Command Result : No Error", 747_000);
        assert!(
            !t.usable("B", 747_000),
            "the recover's attempt has not run yet"
        );
        assert!(t.usable("B", 808_000));
    }

    #[test]
    fn retry_zero_never_recovers_by_itself_and_minus_one_always_does() {
        let mut zero = truth(0);
        zero.fault("B", &FaultObs::Drop, 0);
        zero.fault("B", &FaultObs::Restore, 1_000);
        assert!(!zero.usable("B", 10_000_000));
        let mut forever = truth(-1);
        forever.fault("B", &FaultObs::Drop, 0);
        forever.fault("B", &FaultObs::Restore, 10_000_000);
        assert!(forever.usable("B", 10_061_000));
    }

    #[test]
    fn a_manual_recovery_while_the_member_is_busy_brings_nothing_back_with_retry_zero() {
        // The recover's attempt finds the member busy and fails (D43); with automatic
        // recovery off nothing follows it (D24): only a recover after the busy spell counts.
        let mut t = truth(0);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 1_000);
        t.fault("B", &FaultObs::Busy(50_000), 10_000);
        t.command("hagroup recover", "Command Result : No Error", 20_000);
        assert!(!t.usable("B", 10_000_000));
        t.command("hagroup recover", "Command Result : No Error", 10_000_000);
        assert!(t.usable("B", 10_061_000));
        // A restore ends the spell: a recover after it counts.
        let mut r = truth(0);
        r.fault("B", &FaultObs::Drop, 0);
        r.fault("B", &FaultObs::Busy(50_000), 10_000);
        r.fault("B", &FaultObs::Restore, 15_000);
        r.command("hagroup recover", "Command Result : No Error", 20_000);
        assert!(r.usable("B", 81_000));
    }

    #[test]
    fn an_attempt_that_may_have_found_the_member_busy_puts_it_back_one_interval() {
        // Seeds 19203, 19205, 61692: the attempt due (or run by a `hagroup recover`) while B
        // was busy failed (D43); the next is due one interval after it (D9), not one interval
        // after B became reachable.
        let mut t = truth(-1);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 10_000);
        t.fault("B", &FaultObs::Busy(30_000), 65_000);
        assert!(!t.usable("B", 71_000));
        assert!(!t.usable("B", 155_000));
        assert!(t.usable("B", 156_000));
        // Never busy: back one interval after it became reachable.
        let mut quiet = truth(-1);
        quiet.fault("B", &FaultObs::Drop, 0);
        quiet.fault("B", &FaultObs::Restore, 10_000);
        assert!(quiet.usable("B", 71_000));
        // Nor one that began once B was surely back (one interval after it became reachable).
        let mut after = truth(-1);
        after.fault("B", &FaultObs::Drop, 0);
        after.fault("B", &FaultObs::Restore, 10_000);
        after.fault("B", &FaultObs::Busy(30_000), 72_000);
        assert!(after.usable("B", 110_000));
        // A busy spell over before B became reachable changes nothing.
        let mut before = truth(-1);
        before.fault("B", &FaultObs::Busy(5_000), 0);
        before.fault("B", &FaultObs::Drop, 1_000);
        before.fault("B", &FaultObs::Restore, 10_000);
        assert!(before.usable("B", 71_000));
    }

    #[test]
    fn attempts_a_busy_member_failed_count_towards_the_retry_count() {
        // Retry 2, interval 60 s: B reachable at 10 s but busy until 200 s; the attempts due
        // at 70 s and 130 s may both have failed (D43): recovery may be exhausted (D9).
        let mut t = truth(2);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 10_000);
        assert!(!t.may_be_exhausted("B"));
        t.fault("B", &FaultObs::Busy(190_000), 10_000);
        assert!(t.may_be_exhausted("B"));
        assert!(!t.usable("B", 1_000_000));
    }

    #[test]
    fn a_recover_at_the_instant_a_loss_is_found_brings_nothing_back_with_retry_zero() {
        // Seed 464: the recover's attempt ran at the next drive, then the application's login
        // found B's connection lost (D19) at that same instant; nothing attempts B again.
        let mut t = truth(0);
        t.command("hagroup recover", "Command Result : No Error", 15_000);
        t.detected("B", 15_000);
        assert!(!t.usable("B", 10_000_000));
        t.command("hagroup recover", "Command Result : No Error", 20_000);
        assert!(t.usable("B", 81_000));
    }

    #[test]
    fn a_login_failure_and_a_removal_end_usability() {
        let mut t = truth(3);
        t.fault("A", &FaultObs::LoginFailure, 5);
        assert!(!t.usable("A", 1_000_000));
        t.command(
            "hagroup removemember -group g -serialnumber B",
            "Command Result : No Error",
            6,
        );
        assert!(!t.usable("B", 7));
        assert_eq!(t.group(), vec!["A".to_string()]);
    }

    #[test]
    fn a_member_reconnected_while_logged_out_waits_for_the_next_login() {
        let mut t = truth(3);
        t.fault("B", &FaultObs::Drop, 0);
        t.login(false, 1_000);
        t.fault("B", &FaultObs::Restore, 2_000);
        assert!(!t.usable("B", 100_000));
        t.login(true, 200_000);
        assert!(t.usable("B", 200_000));
    }

    #[test]
    fn an_idle_cut_member_is_reachable_but_not_usable_until_restore() {
        let mut t = truth(3);
        t.fault("B", &FaultObs::IdleCut(1_000), 10_000);
        assert!(t.reachable("B"));
        assert!(!t.usable("B", 1_000_000));
        t.fault("B", &FaultObs::Hang, 20_000);
        assert!(!t.reachable("B"));
        t.fault("B", &FaultObs::Restore, 30_000);
        assert!(t.reachable("B"));
        assert!(t.usable("B", 91_000));
    }

    #[test]
    fn an_outage_the_engine_did_not_notice_ends_usability_until_a_call_finds_it() {
        let mut t = truth(3);
        t.fault("B", &FaultObs::Drop, 10_000);
        t.lost_unnoticed("B");
        t.fault("B", &FaultObs::Restore, 10_000);
        // Without the engine's notice the member would count usable one interval on.
        assert!(!t.usable("B", 500_000));
        t.detected("B", 500_000);
        assert!(!t.usable("B", 500_000));
        assert!(t.usable("B", 561_000));
        let mut logged = truth(3);
        logged.fault("B", &FaultObs::Drop, 10_000);
        logged.lost_unnoticed("B");
        logged.noticed("B");
        logged.fault("B", &FaultObs::Restore, 20_000);
        assert!(logged.usable("B", 81_000));
    }

    #[test]
    fn an_outage_that_starts_before_the_member_came_back_continues_the_last_one() {
        let mut t = truth(3);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 170_000);
        // Not back yet at 200 s (one interval after the restore): the same outage goes on, so
        // attempts 1..3 (60, 120, 180 s) may have run out.
        t.fault("B", &FaultObs::Drop, 200_000);
        t.fault("B", &FaultObs::Restore, 210_000);
        assert!(t.may_be_exhausted("B"));
        assert!(!t.usable("B", 1_000_000));
        let mut fresh = truth(3);
        fresh.fault("B", &FaultObs::Drop, 0);
        fresh.fault("B", &FaultObs::Restore, 10_000);
        fresh.fault("B", &FaultObs::Drop, 500_000);
        fresh.fault("B", &FaultObs::Restore, 510_000);
        assert!(!fresh.may_be_exhausted("B"));
        assert!(fresh.usable("B", 571_000));
    }

    #[test]
    fn recovery_switched_off_before_the_attempt_is_due_needs_a_manual_recovery() {
        // B down at 0, reachable again at 1 s; the attempt due at 60 s is cancelled by the
        // count set to 0 at 2 s (B44): only `hagroup recover` brings B back.
        let mut t = truth(3);
        t.fault("B", &FaultObs::Drop, 0);
        t.fault("B", &FaultObs::Restore, 1_000);
        t.command("hagroup retry -count 0", "Command Result : No Error", 2_000);
        assert!(t.may_be_exhausted("B"));
        assert!(!t.usable("B", 119_000));
        // A count set to 0 after the attempt brought it back changes nothing.
        let mut late = truth(3);
        late.fault("B", &FaultObs::Drop, 0);
        late.fault("B", &FaultObs::Restore, 1_000);
        late.command(
            "hagroup retry -count 0",
            "Command Result : No Error",
            100_000,
        );
        assert!(!late.may_be_exhausted("B"));
        assert!(late.usable("B", 119_000));
    }

    #[test]
    fn a_count_raised_at_the_instant_the_attempts_ran_out_revives_nothing() {
        // Seed 894398: B dropped at 280 s with a retry count of 1; a manual recovery's attempt
        // failed then and exhausted it (B44), and a count of 7 set at the same instant, after
        // that attempt, does not restart automatic attempts (D108).
        let run = |raised_at: Millis| {
            let mut t = truth(1);
            t.command(
                "hagroup retry -count 7",
                "Command Result : No Error",
                raised_at,
            );
            t.fault("B", &FaultObs::Drop, 280_000);
            t.fault("B", &FaultObs::Restore, 281_000);
            t
        };
        let same_instant = run(280_000);
        assert!(same_instant.may_be_exhausted("B"));
        assert!(!same_instant.usable("B", 3_927_000));
        // Raised before the drop, the count of 7 is the one in force all along.
        let before = run(279_999);
        assert!(!before.may_be_exhausted("B"));
        assert!(before.usable("B", 3_927_000));
    }

    #[test]
    fn recovery_switched_on_counts_from_the_change() {
        let mut t = truth(0);
        t.fault("B", &FaultObs::Drop, 10_000);
        assert_eq!(t.recovery_resumed(10_000, 500_000), None);
        t.command(
            "hagroup retry -count 3",
            "Command Result : No Error",
            300_000,
        );
        assert_eq!(t.recovery_resumed(10_000, 500_000), Some(300_000));
        assert_eq!(t.recovery_resumed(10_000, 200_000), None);
        assert_eq!(t.recovery_resumed(300_000, 500_000), None);
        // Switched off after an attempt and on again: the schedule starts from the switch.
        t.command(
            "hagroup retry -count 0",
            "Command Result : No Error",
            600_000,
        );
        t.command(
            "hagroup retry -count 6",
            "Command Result : No Error",
            900_000,
        );
        assert_eq!(t.recovery_resumed(400_000, 1_000_000), Some(900_000));
        assert_eq!(t.recovery_resumed(400_000, 800_000), None);
    }
}
