//! The client configuration the `hagroup` commands edit (what Chrystoki.conf holds): HA groups
//! with their ordered members and standby members, and the global recovery settings (B39, D1).

use std::collections::BTreeSet;

/// `hagroup recoverymode` (B41, B42, D11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecoveryMode {
    /// Background recovery and resync; virtual sessions do not survive a loss of every member.
    ActiveBasic,
    /// As basic, and virtual sessions with their login state survive a loss of every member.
    ActiveEnhanced,
}

impl RecoveryMode {
    /// The spelling LunaCM and Chrystoki.conf use.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryMode::ActiveBasic => "activeBasic",
            RecoveryMode::ActiveEnhanced => "activeEnhanced",
        }
    }
}

/// `hagroup retry -count`: 0 disables auto-recovery, -1 is unlimited, 1..=500 bounded (B39).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetryLimit {
    /// `0`: no automatic attempts.
    Disabled,
    /// `-1`: never exhausts.
    Unlimited,
    /// `1..=500` attempts per outage.
    Bounded(u32),
}

impl RetryLimit {
    /// Upper bound of `-count`.
    pub const MAX: i64 = 500;

    /// Parses the `-count` value, naming the rule when out of range.
    pub fn from_count(count: i64) -> Option<RetryLimit> {
        match count {
            0 => Some(RetryLimit::Disabled),
            -1 => Some(RetryLimit::Unlimited),
            1..=Self::MAX => u32::try_from(count).ok().map(RetryLimit::Bounded),
            _ => None,
        }
    }

    /// The number as Chrystoki.conf's `reconnAtt` and `listgroups` show it.
    pub fn as_count(self) -> i64 {
        match self {
            RetryLimit::Disabled => 0,
            RetryLimit::Unlimited => -1,
            RetryLimit::Bounded(n) => i64::from(n),
        }
    }

    /// True when `attempts` failed attempts exhaust the limit.
    pub fn exhausted_by(self, attempts: u32) -> bool {
        match self {
            RetryLimit::Disabled => true,
            RetryLimit::Unlimited => false,
            RetryLimit::Bounded(n) => attempts >= n,
        }
    }
}

/// One HA group as configured (`VirtualToken<NN>*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupConfig {
    /// `VirtualToken<NN>Label`.
    pub label: String,
    /// Member serials in order; the first is the primary (B5).
    pub members: Vec<String>,
    /// Serials of standby members (a subset of `members`).
    pub standby: BTreeSet<String>,
}

impl GroupConfig {
    /// The group serial: `"1"` + serial of the first member (B2, B4, D13).
    pub fn serial(&self) -> String {
        match self.members.first() {
            Some(first) => format!("1{first}"),
            None => "1".to_string(),
        }
    }
}

/// B6: the most members one group may have.
pub const MAX_MEMBERS_PER_GROUP: usize = 32;
/// B6: the most HA virtual slots (groups) one client may have.
pub const MAX_VIRTUAL_SLOTS: usize = 100;
/// B6: the most partitions one client's groups may hold in total.
pub const MAX_GROUPED_PARTITIONS: usize = 300;

impl ClientConfig {
    /// Members of every group together.
    pub fn grouped_partitions(&self) -> usize {
        self.groups.iter().map(|g| g.members.len()).sum()
    }
}

/// Recovery bounds of `hagroup interval -interval` in seconds (B39).
pub const INTERVAL_RANGE_S: std::ops::RangeInclusive<u64> = 60..=1200;

/// Global HA settings plus the groups, in `NN` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// HA groups in `VirtualToken<NN>` order.
    pub groups: Vec<GroupConfig>,
    /// `reconnAtt` (D1 default: disabled).
    pub retry: RetryLimit,
    /// `AutoReconnectInterval`, seconds (D1 default 60, D2).
    pub interval_s: u64,
    /// `VirtualTokenActiveRecovery` (D1 default activeBasic).
    pub mode: RecoveryMode,
    /// `HAOnly` (D1 default off).
    pub ha_only: bool,
    /// `[HASynchronize] <label> = 1 | 0`, as the file says it (B60, D21): `true` on, `false`
    /// off; a group absent here counts as on ([`ClientConfig::auto_sync_enabled`]).
    pub synchronize: std::collections::BTreeMap<String, bool>,
    /// `[Toggles] lunacm_cv_ha_ui`: `true` (the default) adds a Cloud HSM member as standby;
    /// `false` (`= 0`) lets it be active (B15).
    pub cloud_members_standby: bool,
    /// `[HAConfiguration] failover_on_deactivation = 1` (B33, D17).
    pub failover_on_deactivation: bool,
    /// `[LunaSA Client] ReceiveTimeout`, milliseconds (B28; default 20000).
    pub receive_timeout_ms: u64,
    /// `ProbeTimeout`, milliseconds, when set (B32).
    pub probe_timeout_ms: Option<u64>,
    /// `[HARecovery] <label> = N`: the legacy manual-recovery counters (B45).
    pub legacy_recovery: std::collections::BTreeMap<String, u64>,
    /// `[HasimMinCopies] <label> = N`: the replication floor, beyond Luna (D36): creating an
    /// object in the group fails up front with [`MIN_COPIES_REFUSAL`] when fewer than N
    /// members would hold it. Absent: no floor (Luna's behaviour).
    pub min_copies: std::collections::BTreeMap<String, u32>,
}

/// What object creation answers when the replication floor cannot be met (D36): the function
/// could not be performed now; nothing was created; not a drop code.
pub const MIN_COPIES_REFUSAL: crate::ckr::Ckr = crate::ckr::Ckr::CKR_FUNCTION_FAILED;

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            groups: Vec::new(),
            retry: RetryLimit::Disabled,
            interval_s: 60,
            mode: RecoveryMode::ActiveBasic,
            ha_only: false,
            synchronize: std::collections::BTreeMap::new(),
            cloud_members_standby: true,
            failover_on_deactivation: false,
            receive_timeout_ms: 20_000,
            probe_timeout_ms: None,
            legacy_recovery: std::collections::BTreeMap::new(),
            min_copies: std::collections::BTreeMap::new(),
        }
    }
}

impl ClientConfig {
    /// The call limits of `[LunaSA Client]` (B28, B32).
    pub fn timeouts(&self) -> crate::ports::Timeouts {
        crate::ports::Timeouts {
            receive_ms: self.receive_timeout_ms,
            probe_ms: self.probe_timeout_ms,
        }
    }

    /// The group with this label (labels compare case-insensitively, B3).
    pub fn group(&self, label: &str) -> Option<&GroupConfig> {
        self.groups
            .iter()
            .find(|g| g.label.eq_ignore_ascii_case(label))
    }

    /// Index of the group with this label.
    pub fn group_index(&self, label: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.label.eq_ignore_ascii_case(label))
    }

    /// Automatic synchronisation of the group labelled `label` (D21): on unless
    /// `[HASynchronize]` says `0` for it (labels compare case-insensitively). With it off, a
    /// recovered member rejoins without the reintroduction step.
    pub fn auto_sync_enabled(&self, label: &str) -> bool {
        !self
            .synchronize
            .iter()
            .any(|(l, on)| !*on && l.eq_ignore_ascii_case(label))
    }

    /// The replication floor of the group labelled `label` (D36), when one is set (labels
    /// compare case-insensitively).
    pub fn min_copies(&self, label: &str) -> Option<usize> {
        self.min_copies
            .iter()
            .find(|(l, _)| l.eq_ignore_ascii_case(label))
            .and_then(|(_, n)| usize::try_from(*n).ok())
    }

    /// The group (if any) that has `serial` as a member.
    pub fn group_of_member(&self, serial: &str) -> Option<&GroupConfig> {
        self.groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_range_is_b39() {
        assert_eq!(RetryLimit::from_count(0), Some(RetryLimit::Disabled));
        assert_eq!(RetryLimit::from_count(-1), Some(RetryLimit::Unlimited));
        assert_eq!(RetryLimit::from_count(500), Some(RetryLimit::Bounded(500)));
        assert_eq!(RetryLimit::from_count(501), None);
        assert_eq!(RetryLimit::from_count(-2), None);
        assert!(RetryLimit::Bounded(3).exhausted_by(3));
        assert!(!RetryLimit::Bounded(3).exhausted_by(2));
        assert!(!RetryLimit::Unlimited.exhausted_by(u32::MAX));
    }

    #[test]
    fn group_serial_is_one_plus_primary() {
        let g = GroupConfig {
            label: "g".into(),
            members: vec!["154438865287".into(), "2".into()],
            standby: BTreeSet::new(),
        };
        assert_eq!(g.serial(), "1154438865287");
    }
}
