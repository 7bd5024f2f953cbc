//! HA group prerequisites (B9–B15), checked by `hagroup creategroup` (the founding partition
//! alone), `hagroup addmember` (the joining partition alone, then against the primary and, for
//! the PCIe / Network mix, against every member) and `hagroup removemember` of a primary (the
//! firmware order of the member that takes its place, B11).
//!
//! The checks read [`MemberProperties`] (the vendor extension of the `Member` port) and are pure
//! functions of them, so they can be tested without a member. The one check that needs the
//! member itself, "same Crypto Officer credential", opens a session on it and logs in with the
//! credential LunaCM was given ([`verify_credential`]).
//!
//! Every violation names the rule broken and the differing values; none ever carries a
//! credential (the cloning domain appears only as its fingerprint).

use crate::member_session;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{AuthKind, HsmForm, Member, MemberProperties, Secret};

/// HSM policy 7: allow cloning.
pub const HSM_ALLOW_CLONING: u32 = 7;
/// HSM policy 12: allow non-FIPS algorithms (0 = FIPS mode).
pub const HSM_ALLOW_NON_FIPS: u32 = 12;
/// HSM policy 16: allow network replication.
pub const HSM_ALLOW_NETWORK_REPLICATION: u32 = 16;
/// HSM policy 21: force user PIN change.
pub const HSM_FORCE_PIN_CHANGE: u32 = 21;
/// Partition policy 0: allow private key cloning.
pub const PARTITION_ALLOW_PRIVATE_KEY_CLONING: u32 = 0;
/// Partition policy 4: allow secret key cloning.
pub const PARTITION_ALLOW_SECRET_KEY_CLONING: u32 = 4;
/// Partition policy 22: allow activation.
pub const PARTITION_ALLOW_ACTIVATION: u32 = 22;

/// B11: a primary on this firmware or later cannot have an older secondary.
pub const FIRMWARE_PRIMARY_BOUNDARY: (u32, u32, u32) = (7, 7, 0);

/// One broken prerequisite: what differs or is wrong, and the rule. Display: `<what> (<rule>)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} ({rule})")]
pub struct Violation {
    /// What is wrong, with the values concerned (never a credential).
    pub what: String,
    /// The rule (or rules) broken, e.g. `B9`.
    pub rule: &'static str,
}

impl Violation {
    fn new(what: String, rule: &'static str) -> Self {
        Violation { what, rule }
    }
}

/// What a successful join check found that changes how the member is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JoinNotes {
    /// A V1 partition: the primary's SMK overwrites its SMK (B13). A warning, not a refusal.
    pub v1: bool,
    /// A Cloud HSM partition: added as standby unless the client says otherwise (B15).
    pub cloud: bool,
}

/// The name LunaCM's policy listings give an HSM policy.
pub fn hsm_policy_name(number: u32) -> &'static str {
    match number {
        HSM_ALLOW_CLONING => "allow cloning",
        HSM_ALLOW_NON_FIPS => "allow non-FIPS algorithms",
        HSM_ALLOW_NETWORK_REPLICATION => "allow network replication",
        HSM_FORCE_PIN_CHANGE => "force user PIN change",
        _ => "unnamed",
    }
}

/// The name LunaCM's policy listings give a partition policy.
pub fn partition_policy_name(number: u32) -> &'static str {
    match number {
        PARTITION_ALLOW_PRIVATE_KEY_CLONING => "allow private key cloning",
        PARTITION_ALLOW_SECRET_KEY_CLONING => "allow secret key cloning",
        PARTITION_ALLOW_ACTIVATION => "allow activation",
        _ => "unnamed",
    }
}

/// `Network`, `PCIe`, `USB`, `Cloud`.
pub fn form_name(form: HsmForm) -> &'static str {
    match form {
        HsmForm::Network => "Network",
        HsmForm::Pcie => "PCIe",
        HsmForm::Usb => "USB",
        HsmForm::Cloud => "Cloud",
    }
}

/// `password` or `PED`.
pub fn auth_name(auth: AuthKind) -> &'static str {
    match auth {
        AuthKind::Password => "password",
        AuthKind::Ped => "PED",
    }
}

/// `major.minor.patch`.
pub fn firmware_text(fw: (u32, u32, u32)) -> String {
    format!("{}.{}.{}", fw.0, fw.1, fw.2)
}

fn hsm_policy(p: &MemberProperties, number: u32) -> u64 {
    p.hsm_policies.get(&number).copied().unwrap_or(0)
}

fn partition_policy(p: &MemberProperties, number: u32) -> u64 {
    p.partition_policies.get(&number).copied().unwrap_or(0)
}

/// The checks one partition must pass on its own, whether it founds a group or joins one:
/// HSM policies 7 and 16 = 1, partition policies 0 and 4 = 1 (B9); a PED partition needs
/// partition policy 22 = 1 (B9); under HSM policy 21 the initial Crypto Officer credential must
/// have been changed (B9). Checked in that order; the first violation is returned.
pub fn check_alone(p: &MemberProperties) -> Result<(), Violation> {
    for number in [HSM_ALLOW_CLONING, HSM_ALLOW_NETWORK_REPLICATION] {
        let value = hsm_policy(p, number);
        if value != 1 {
            return Err(Violation::new(
                format!(
                    "HSM policy {number} ({}) is {value} on its HSM {}, must be 1",
                    hsm_policy_name(number),
                    p.hsm_serial
                ),
                "B9",
            ));
        }
    }
    for number in [
        PARTITION_ALLOW_PRIVATE_KEY_CLONING,
        PARTITION_ALLOW_SECRET_KEY_CLONING,
    ] {
        let value = partition_policy(p, number);
        if value != 1 {
            return Err(Violation::new(
                format!(
                    "partition policy {number} ({}) is {value}, must be 1",
                    partition_policy_name(number)
                ),
                "B9",
            ));
        }
    }
    if p.auth == AuthKind::Ped {
        let value = partition_policy(p, PARTITION_ALLOW_ACTIVATION);
        if value != 1 {
            return Err(Violation::new(
                format!(
                    "it authenticates with PED and partition policy {PARTITION_ALLOW_ACTIVATION} ({}) is {value}, must be 1",
                    partition_policy_name(PARTITION_ALLOW_ACTIVATION)
                ),
                "B9",
            ));
        }
    }
    if hsm_policy(p, HSM_FORCE_PIN_CHANGE) == 1 && !p.co_credential_changed {
        return Err(Violation::new(
            format!(
                "HSM policy {HSM_FORCE_PIN_CHANGE} ({}) is 1 on its HSM {} and the initial Crypto Officer credential has not been changed; change it first",
                hsm_policy_name(HSM_FORCE_PIN_CHANGE),
                p.hsm_serial
            ),
            "B9",
        ));
    }
    Ok(())
}

/// The checks of a joining partition against the group, in this order: against the primary,
/// the same authentication method (B9, B10), the same cloning domain (B9), the same HSM policy 12
/// (hasim refuses a FIPS / non-FIPS mix, B11), firmware order (a primary on 7.7.0 or later
/// cannot have an older secondary, B11); then no PCIe / Network mix with the primary or with
/// any of `others`, the group's other members whose properties are known, in group order (B11).
/// On success, says whether the joining partition is a V1 partition (B13) or a Cloud HSM
/// partition (B15).
pub fn check_join(
    primary_serial: &str,
    primary: &MemberProperties,
    others: &[(String, MemberProperties)],
    joining: &MemberProperties,
) -> Result<JoinNotes, Violation> {
    if joining.auth != primary.auth {
        return Err(Violation::new(
            format!(
                "it authenticates with {}, the primary {primary_serial} with {}; all members must use the same authentication method",
                auth_name(joining.auth),
                auth_name(primary.auth)
            ),
            "B9, B10",
        ));
    }
    if joining.domain_fingerprint != primary.domain_fingerprint {
        return Err(Violation::new(
            format!(
                "its cloning domain (fingerprint {}) differs from the primary {primary_serial}'s (fingerprint {}); all members must share one cloning domain",
                joining.domain_fingerprint, primary.domain_fingerprint
            ),
            "B9",
        ));
    }
    if joining.auth == AuthKind::Ped
        && joining.activation_fingerprint != primary.activation_fingerprint
    {
        return Err(Violation::new(
            format!(
                "its activation challenge secret differs from the primary {primary_serial}'s; PED members must share one activation challenge"
            ),
            "B9",
        ));
    }
    let fips_joining = hsm_policy(joining, HSM_ALLOW_NON_FIPS);
    let fips_primary = hsm_policy(primary, HSM_ALLOW_NON_FIPS);
    if fips_joining != fips_primary {
        return Err(Violation::new(
            format!(
                "HSM policy {HSM_ALLOW_NON_FIPS} ({}) is {fips_joining} on its HSM {} and {fips_primary} on the primary {primary_serial}'s HSM {}; hasim refuses a mix of FIPS and non-FIPS members",
                hsm_policy_name(HSM_ALLOW_NON_FIPS),
                joining.hsm_serial,
                primary.hsm_serial
            ),
            "B9, B11",
        ));
    }
    if primary.firmware >= FIRMWARE_PRIMARY_BOUNDARY && joining.firmware < FIRMWARE_PRIMARY_BOUNDARY
    {
        return Err(Violation::new(
            format!(
                "its HSM {} runs firmware {} and the primary {primary_serial}'s HSM {} runs {}; a primary on firmware {} or later cannot have an older secondary",
                joining.hsm_serial,
                firmware_text(joining.firmware),
                primary.hsm_serial,
                firmware_text(primary.firmware),
                firmware_text(FIRMWARE_PRIMARY_BOUNDARY)
            ),
            "B11",
        ));
    }
    check_form_mix(&format!("the primary {primary_serial}'s"), primary, joining)?;
    for (serial, member) in others {
        check_form_mix(&format!("member {serial}'s"), member, joining)?;
    }
    Ok(JoinNotes {
        v1: joining.v1,
        cloud: joining.form == HsmForm::Cloud,
    })
}

/// The HSM policies a prerequisite names (7, 12, 16, 21): checked on their own, never warned of.
const NAMED_HSM_POLICIES: [u32; 4] = [
    HSM_ALLOW_CLONING,
    HSM_ALLOW_NON_FIPS,
    HSM_ALLOW_NETWORK_REPLICATION,
    HSM_FORCE_PIN_CHANGE,
];
/// The partition policies a prerequisite names (0, 4, 22).
const NAMED_PARTITION_POLICIES: [u32; 3] = [
    PARTITION_ALLOW_PRIVATE_KEY_CLONING,
    PARTITION_ALLOW_SECRET_KEY_CLONING,
    PARTITION_ALLOW_ACTIVATION,
];

/// Warnings for the policies no prerequisite names that differ between the joining partition
/// and the primary: the seed says HSM policies "must be consistent across all HSMs" and
/// partition policies "must be consistent across all member partitions" (B9). hasim warns
/// (naming the policy and both values) and adds the member: the seed names no consequence.
pub fn policy_warnings(
    joining_serial: &str,
    joining: &MemberProperties,
    primary_serial: &str,
    primary: &MemberProperties,
) -> Vec<String> {
    let mut out = Vec::new();
    let numbers = |a: &std::collections::BTreeMap<u32, u64>,
                   b: &std::collections::BTreeMap<u32, u64>| {
        let mut all: Vec<u32> = a.keys().chain(b.keys()).copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    for n in numbers(&joining.hsm_policies, &primary.hsm_policies) {
        let (j, p) = (hsm_policy(joining, n), hsm_policy(primary, n));
        if j != p && !NAMED_HSM_POLICIES.contains(&n) {
            out.push(format!(
                "Warning: HSM policy {n} is {j} on partition {joining_serial}'s HSM {} and {p} on the primary {primary_serial}'s HSM {}; HSM policies must be consistent across all HSMs (B9)",
                joining.hsm_serial, primary.hsm_serial
            ));
        }
    }
    for n in numbers(&joining.partition_policies, &primary.partition_policies) {
        let (j, p) = (partition_policy(joining, n), partition_policy(primary, n));
        if j != p && !NAMED_PARTITION_POLICIES.contains(&n) {
            out.push(format!(
                "Warning: partition policy {n} is {j} on partition {joining_serial} and {p} on the primary {primary_serial}; partition policies must be consistent across all member partitions (B9)"
            ));
        }
    }
    out
}

/// B11: PCIe and Network HSM partitions cannot be mixed. `whose` names the member in the
/// message (`the primary 111's`, `member 222's`).
fn check_form_mix(
    whose: &str,
    member: &MemberProperties,
    joining: &MemberProperties,
) -> Result<(), Violation> {
    let mixed = matches!(
        (joining.form, member.form),
        (HsmForm::Pcie, HsmForm::Network) | (HsmForm::Network, HsmForm::Pcie)
    );
    if mixed {
        return Err(Violation::new(
            format!(
                "its HSM {} is a {} HSM and {whose} HSM {} a {} HSM; PCIe and Network HSM partitions cannot be mixed",
                joining.hsm_serial,
                form_name(joining.form),
                member.hsm_serial,
                form_name(member.form)
            ),
            "B11",
        ));
    }
    Ok(())
}

/// B11 when a group's primary is removed and `new_primary` takes its place: a primary on
/// firmware 7.7.0 or later cannot have an older secondary. `secondaries` are the members that
/// stay behind it, in group order, whose properties are known; the first older one is reported.
pub fn check_new_primary(
    new_primary_serial: &str,
    new_primary: &MemberProperties,
    secondaries: &[(String, MemberProperties)],
) -> Result<(), Violation> {
    if new_primary.firmware < FIRMWARE_PRIMARY_BOUNDARY {
        return Ok(());
    }
    match secondaries
        .iter()
        .find(|(_, p)| p.firmware < FIRMWARE_PRIMARY_BOUNDARY)
    {
        None => Ok(()),
        Some((serial, older)) => Err(Violation::new(
            format!(
                "member {new_primary_serial} would become the primary; its HSM {} runs firmware {} and member {serial}'s HSM {} runs {}; a primary on firmware {} or later cannot have an older secondary",
                new_primary.hsm_serial,
                firmware_text(new_primary.firmware),
                older.hsm_serial,
                firmware_text(older.firmware),
                firmware_text(FIRMWARE_PRIMARY_BOUNDARY)
            ),
            "B11",
        )),
    }
}

/// B9 "same Crypto Officer credential": logs in on a fresh session of the member with the
/// credential LunaCM was given (`CKR_USER_ALREADY_LOGGED_IN` counts as success) and closes the
/// session again (`member_session::with_logged_in_session`). Never logs out: the login state
/// is the partition's, and an application may share it.
pub fn verify_credential(member: &mut dyn Member, credential: &Secret) -> Result<(), Violation> {
    match member_session::with_logged_in_session(member, credential, |_, _| Ok(())) {
        Ok(()) => Ok(()),
        Err(Ckr::CKR_PIN_INCORRECT) => Err(Violation::new(
            "the group's Crypto Officer credential does not open it (CKR_PIN_INCORRECT); all members must share one Crypto Officer credential".to_string(),
            "B9",
        )),
        Err(rv) => Err(Violation::new(
            format!(
                "opening a session on it and logging in with the group's Crypto Officer credential failed: {rv}"
            ),
            "B9",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn props(hsm: &str) -> MemberProperties {
        MemberProperties {
            hsm_serial: hsm.to_string(),
            form: HsmForm::Network,
            firmware: (7, 7, 0),
            auth: AuthKind::Password,
            hsm_policies: BTreeMap::from([(7, 1), (12, 0), (16, 1), (21, 0)]),
            partition_policies: BTreeMap::from([(0, 1), (4, 1), (22, 0)]),
            domain_fingerprint: "aaaa".to_string(),
            activated: true,
            co_credential_changed: true,
            v1: false,
            activation_fingerprint: None,
        }
    }

    #[test]
    fn defaults_pass_alone_and_together() {
        assert_eq!(check_alone(&props("h1")), Ok(()));
        assert_eq!(
            check_join("111", &props("h1"), &[], &props("h2")),
            Ok(JoinNotes::default())
        );
    }

    #[test]
    fn alone_names_policy_value_hsm_and_rule() {
        let mut p = props("hsm-222");
        p.hsm_policies.insert(16, 0);
        assert_eq!(
            check_alone(&p).map_err(|v| v.to_string()),
            Err(
                "HSM policy 16 (allow network replication) is 0 on its HSM hsm-222, must be 1 (B9)"
                    .to_string()
            )
        );
        let mut p = props("h");
        p.hsm_policies.remove(&7);
        assert_eq!(
            check_alone(&p).map_err(|v| v.to_string()),
            Err("HSM policy 7 (allow cloning) is 0 on its HSM h, must be 1 (B9)".to_string())
        );
        let mut p = props("h");
        p.partition_policies.insert(4, 0);
        assert_eq!(
            check_alone(&p).map_err(|v| v.to_string()),
            Err("partition policy 4 (allow secret key cloning) is 0, must be 1 (B9)".to_string())
        );
    }

    #[test]
    fn ped_needs_policy_22_and_policy_21_needs_a_changed_credential() {
        let mut p = props("h");
        p.auth = AuthKind::Ped;
        assert_eq!(
            check_alone(&p).map_err(|v| v.to_string()),
            Err("it authenticates with PED and partition policy 22 (allow activation) is 0, must be 1 (B9)".to_string())
        );
        p.partition_policies.insert(22, 1);
        assert_eq!(check_alone(&p), Ok(()));
        let mut p = props("h");
        p.hsm_policies.insert(21, 1);
        assert_eq!(check_alone(&p), Ok(()));
        p.co_credential_changed = false;
        assert_eq!(check_alone(&p).map(|_| ()).map_err(|v| v.rule), Err("B9"));
    }

    #[test]
    fn join_refusals_in_order() {
        let primary = props("h1");
        let mut j = props("h2");
        j.firmware = (7, 4, 2);
        j.form = HsmForm::Pcie;
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("its HSM h2 runs firmware 7.4.2 and the primary 111's HSM h1 runs 7.7.0; a primary on firmware 7.7.0 or later cannot have an older secondary (B11)".to_string())
        );
        j.firmware = (7, 7, 0);
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("its HSM h2 is a PCIe HSM and the primary 111's HSM h1 a Network HSM; PCIe and Network HSM partitions cannot be mixed (B11)".to_string())
        );
        // An older primary may take a newer secondary.
        let mut old = props("h0");
        old.firmware = (7, 3, 0);
        assert_eq!(
            check_join("111", &old, &[], &props("h2")),
            Ok(JoinNotes::default())
        );
        let mut j = props("h2");
        j.hsm_policies.insert(12, 1);
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("HSM policy 12 (allow non-FIPS algorithms) is 1 on its HSM h2 and 0 on the primary 111's HSM h1; hasim refuses a mix of FIPS and non-FIPS members (B9, B11)".to_string())
        );
        let mut j = props("h2");
        j.domain_fingerprint = "bbbb".to_string();
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("its cloning domain (fingerprint bbbb) differs from the primary 111's (fingerprint aaaa); all members must share one cloning domain (B9)".to_string())
        );
        let mut j = props("h2");
        j.auth = AuthKind::Ped;
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("it authenticates with PED, the primary 111 with password; all members must use the same authentication method (B9, B10)".to_string())
        );
    }

    #[test]
    fn the_pcie_network_mix_is_checked_against_every_known_member() {
        // The primary is on a USB HSM (no mix with PCIe); the second member is on Network.
        let mut primary = props("h1");
        primary.form = HsmForm::Usb;
        let mut network = props("h2");
        network.form = HsmForm::Network;
        let mut cloud = props("h3");
        cloud.form = HsmForm::Cloud;
        let mut j = props("h4");
        j.form = HsmForm::Pcie;
        assert_eq!(
            check_join("111", &primary, &[], &j),
            Ok(JoinNotes::default())
        );
        let others = [("333".to_string(), cloud), ("222".to_string(), network)];
        assert_eq!(
            check_join("111", &primary, &others, &j).map_err(|v| v.to_string()),
            Err("its HSM h4 is a PCIe HSM and member 222's HSM h2 a Network HSM; PCIe and Network HSM partitions cannot be mixed (B11)".to_string())
        );
        // Members whose properties are unknown are simply not in `others`.
        assert_eq!(
            check_join("111", &primary, &others[..1], &j),
            Ok(JoinNotes::default())
        );
    }

    #[test]
    fn a_new_primary_on_7_7_0_cannot_keep_an_older_secondary() {
        let mut old = props("h3");
        old.firmware = (7, 4, 2);
        let secondaries = [("222".to_string(), props("h2")), ("333".to_string(), old)];
        assert_eq!(
            check_new_primary("111", &props("h1"), &secondaries).map_err(|v| v.to_string()),
            Err("member 111 would become the primary; its HSM h1 runs firmware 7.7.0 and member 333's HSM h3 runs 7.4.2; a primary on firmware 7.7.0 or later cannot have an older secondary (B11)".to_string())
        );
        assert_eq!(
            check_new_primary("111", &props("h1"), &secondaries[..1]),
            Ok(())
        );
        let mut older_primary = props("h1");
        older_primary.firmware = (7, 3, 0);
        assert_eq!(
            check_new_primary("111", &older_primary, &secondaries),
            Ok(())
        );
    }

    #[test]
    fn ped_members_need_the_same_activation_challenge() {
        let mut primary = props("h1");
        primary.auth = AuthKind::Ped;
        primary.activation_fingerprint = Some("c1".to_string());
        let mut j = props("h2");
        j.auth = AuthKind::Ped;
        j.activation_fingerprint = Some("c2".to_string());
        assert_eq!(
            check_join("111", &primary, &[], &j).map_err(|v| v.to_string()),
            Err("its activation challenge secret differs from the primary 111's; PED members must share one activation challenge (B9)".to_string())
        );
        j.activation_fingerprint = Some("c1".to_string());
        assert_eq!(
            check_join("111", &primary, &[], &j),
            Ok(JoinNotes::default())
        );
    }

    #[test]
    fn unnamed_policies_that_differ_are_warnings_with_both_values() {
        let primary = props("h1");
        let mut joining = props("h2");
        joining.hsm_policies.insert(15, 1);
        joining.partition_policies.insert(5, 0);
        joining.hsm_policies.insert(21, 1);
        let mut primary_5 = primary.clone();
        primary_5.partition_policies.insert(5, 1);
        assert_eq!(
            policy_warnings("222", &joining, "111", &primary_5),
            [
                "Warning: HSM policy 15 is 1 on partition 222's HSM h2 and 0 on the primary 111's HSM h1; HSM policies must be consistent across all HSMs (B9)",
                "Warning: partition policy 5 is 0 on partition 222 and 1 on the primary 111; partition policies must be consistent across all member partitions (B9)",
            ]
        );
        assert!(policy_warnings("222", &primary, "111", &primary).is_empty());
    }

    #[test]
    fn v1_and_cloud_are_notes_not_refusals() {
        let mut j = props("h2");
        j.v1 = true;
        j.form = HsmForm::Cloud;
        assert_eq!(
            check_join("111", &props("h1"), &[], &j),
            Ok(JoinNotes {
                v1: true,
                cloud: true
            })
        );
    }
}
