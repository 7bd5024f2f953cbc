//! `partition showinfo`, `partition login` / `logout` and `partition clear` on LunaCM's current
//! slot. `clear` needs the Crypto Officer logged in to the slot first (`partition login`, the
//! seed's verification step 3), as LunaCM does.
//!
//! `showinfo` prints the storage block of §3.5 exactly (indentation and the value column at
//! 22 characters after the label's indent) from `C_GetTokenInfo` of the current slot. On an HA
//! virtual slot the figures are those of the group's primary (B5, B30) as LunaCM's own probe
//! finds it (D22): the first member in configuration order that answers LunaCM. The
//! §3.5 verification rule (every member's `Object Count` and `Used Storage Space` match after
//! objects were made through the virtual slot) is checked by setting each member's slot in turn.
//!
//! `clear` destroys every token object of an HA virtual slot's group on every member that
//! LunaCM reaches, logging in with the Crypto Officer credential. It is refused on a physical
//! slot: an operation on a member's own slot bypasses HA (B21) and would leave the group
//! diverged. A member that fails part way keeps what was not destroyed yet; its line says how
//! many objects went first.
//!
//! When at least one member was cleared, the running application's engine (when it was
//! initialised with the group) forgets the token objects in its table
//! ([`HaEngine::forget_cleared_objects`]). For a member that could
//! not be cleared (wholly), it remembers the ids of exactly those objects and destroys them on
//! the member when the member recovers (D7); any other object on that member (one the engine
//! never knew of, e.g. made before the application started) stays there, and so does
//! everything when no application runs. `hagroup synchronize` never deletes: it would copy what
//! stayed back to the cleared members. Each member's line says which of these applies. When no
//! member was cleared the command fails, the engine keeps its table, and the error says how
//! many objects were destroyed before the failures.

use ha_engine::HaEngine;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{Secret, TokenInfo};

use crate::console::{Failure, LunaCm, Outcome, SlotRef};
use crate::error::LunaCmError;
use crate::member_session::{self, ClearFailure};
use crate::slot::current;

/// Width of the label column of the storage block (§3.5).
const LABEL_WIDTH: usize = 22;

/// The storage block of §3.5 for one token.
pub fn storage_block(info: &TokenInfo) -> Vec<String> {
    let row = |label: &str, value: u64| format!("                {label:<LABEL_WIDTH$}{value}");
    vec![
        String::new(),
        "        Partition Storage:".to_string(),
        row("Total Storage Space:", info.total_storage),
        row("Used Storage Space:", info.used_storage),
        row("Free Storage Space:", info.free_storage),
        row("Object Count:", info.object_count),
        row("Overhead:", info.overhead),
    ]
}

/// `partition login`: the Crypto Officer logs in to the current slot with the credential
/// LunaCM prompts for (the scenario's fixture, shown as `********`). On a physical slot the
/// partition must accept it; on an HA virtual slot every member LunaCM reaches must (the seed's
/// verification step 3: "login to the HA virtual slot and clear the virtual partition").
pub(crate) fn login(
    cm: &mut LunaCm,
    credential: Option<&Secret>,
) -> Result<Vec<String>, LunaCmError> {
    const C: &str = "partition login";
    let pin = credential.ok_or(LunaCmError::NoCredential { command: C })?;
    let slot = current(cm, C)?;
    let serials = match &slot {
        SlotRef::Partition(serial) => vec![serial.clone()],
        SlotRef::Group(label) => cm
            .config
            .group(label)
            .map(|g| g.members.clone())
            .ok_or_else(|| LunaCmError::GroupGone {
                command: C,
                label: label.clone(),
            })?,
    };
    let mut reached = 0;
    for serial in &serials {
        let answer = match cm.slot_index(serial) {
            Some(i) => member_session::with_logged_in_session(cm.member(i), pin, |_, _| Ok(())),
            None => Err(Ckr::CKR_TOKEN_NOT_PRESENT),
        };
        match answer {
            Ok(()) => reached += 1,
            // A group member that is down does not stop the login (LunaCM logs in to the
            // members it reaches); a refused credential does.
            Err(rv) if rv.drops_member() && matches!(slot, SlotRef::Group(_)) => {}
            Err(rv) => {
                cm.logged_in = None;
                return Err(LunaCmError::LoginFailed {
                    serial: serial.clone(),
                    rv,
                });
            }
        }
    }
    // (A physical slot that does not answer was refused in the loop.)
    if let (0, SlotRef::Group(label)) = (reached, &slot) {
        return Err(LunaCmError::NoPrimary {
            command: C,
            label: label.clone(),
        });
    }
    let what = match &slot {
        SlotRef::Partition(serial) => format!("partition {serial}"),
        SlotRef::Group(label) => format!("the HA virtual slot of group {label}"),
    };
    cm.logged_in = Some(slot);
    Ok(vec![
        String::new(),
        "        Enter the password: ********".to_string(),
        String::new(),
        format!("        Crypto Officer is logged in to {what}."),
    ])
}

/// `partition logout`: the Crypto Officer's login to the current slot ends.
pub(crate) fn logout(cm: &mut LunaCm) -> Result<Vec<String>, LunaCmError> {
    const C: &str = "partition logout";
    let slot = current(cm, C)?;
    if cm.logged_in.as_ref() != Some(&slot) {
        return Err(LunaCmError::NotLoggedIn { command: C });
    }
    cm.logged_in = None;
    Ok(vec![
        String::new(),
        "        Crypto Officer is logged out.".to_string(),
    ])
}

/// `partition showinfo`.
pub(crate) fn showinfo(cm: &mut LunaCm) -> Result<Vec<String>, LunaCmError> {
    const C: &str = "partition showinfo";
    let info = match current(cm, C)? {
        SlotRef::Partition(serial) => partition_info(cm, C, &serial)?,
        SlotRef::Group(label) => primary_info(cm, C, &label)?,
    };
    Ok(storage_block(&info))
}

fn partition_info(
    cm: &mut LunaCm,
    command: &'static str,
    serial: &str,
) -> Result<TokenInfo, LunaCmError> {
    let answer = match cm.slot_index(serial) {
        Some(i) => cm.member(i).token_info(),
        None => Err(Ckr::CKR_TOKEN_NOT_PRESENT),
    };
    answer.map_err(|rv| LunaCmError::SlotUnreachable {
        command,
        serial: serial.to_string(),
        rv,
    })
}

/// The token information of the group's primary as LunaCM finds it: the first configured
/// member that answers LunaCM's probe (D22).
fn primary_info(
    cm: &mut LunaCm,
    command: &'static str,
    label: &str,
) -> Result<TokenInfo, LunaCmError> {
    let members = cm
        .config
        .group(label)
        .map(|g| g.members.clone())
        .ok_or_else(|| LunaCmError::GroupGone {
            command,
            label: label.to_string(),
        })?;
    for serial in &members {
        let Some(i) = cm.slot_index(serial) else {
            continue;
        };
        if let Ok(info) = cm.member(i).token_info() {
            return Ok(info);
        }
    }
    Err(LunaCmError::NoPrimary {
        command,
        label: label.to_string(),
    })
}

/// `partition clear`.
pub(crate) fn clear(
    cm: &mut LunaCm,
    engine: &mut HaEngine,
    credential: Option<&Secret>,
) -> Outcome {
    const C: &str = "partition clear";
    let label = match current(cm, C)? {
        SlotRef::Partition(serial) => return Err(LunaCmError::ClearOnPhysical { serial }.into()),
        SlotRef::Group(label) => label,
    };
    if cm.logged_in.as_ref() != Some(&SlotRef::Group(label.clone())) {
        return Err(LunaCmError::NotLoggedIn { command: C }.into());
    }
    let pin = credential.ok_or(LunaCmError::NoCredential { command: C })?;
    let members = cm
        .config
        .group(&label)
        .map(|g| g.members.clone())
        .ok_or_else(|| LunaCmError::GroupGone {
            command: C,
            label: label.clone(),
        })?;
    let results: Vec<(&String, Result<u64, ClearFailure>)> = members
        .iter()
        .map(|serial| {
            let result = match cm.slot_index(serial) {
                Some(i) => member_session::clear_token_objects(cm.member(i), pin),
                None => Err(ClearFailure {
                    destroyed: 0,
                    rv: Ckr::CKR_TOKEN_NOT_PRESENT,
                }),
            };
            (serial, result)
        })
        .collect();
    // When no member was cleared the command fails and the running application's engine keeps
    // its table; otherwise it forgets the cleared objects and remembers their deletion for the
    // members not cleared (if the application was initialised with the group).
    let none_cleared = results.iter().all(|(_, r)| r.is_err());
    let not_cleared: Vec<String> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(serial, _)| (*serial).clone())
        .collect();
    let remembered = !none_cleared && engine.forget_cleared_objects(&label, &not_cleared);
    let mut lines = vec![String::new()];
    let mut detail = Vec::new();
    let mut destroyed = 0;
    for (serial, result) in results {
        match result {
            Ok(n) => {
                destroyed += n;
                lines.push(format!(
                    "        Member {serial}:  {n} token objects destroyed"
                ));
            }
            Err(failure) => {
                destroyed += failure.destroyed;
                let after = if none_cleared {
                    ""
                } else if remembered {
                    "; the running application's HA engine destroys the token objects it knows of when the member recovers (D7); any other object stays on it"
                } else {
                    "; its remaining objects stay on it (no running application remembers the deletions, and hagroup synchronize never deletes)"
                };
                lines.push(format!(
                    "        Member {serial}:  not cleared ({}){after}",
                    failure.describe()
                ));
                detail.push(format!("{serial}: {}", failure.describe()));
            }
        }
    }
    if none_cleared {
        return Err(Failure::after(
            lines,
            LunaCmError::ClearReachedNone {
                label,
                detail: detail.join(", "),
                destroyed,
            },
        ));
    }
    Ok(lines)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::test_support::{FIXTURE_CO, fixture, lines};
    use ha_engine::ports::{KeyKind, Secret};

    const BLOCK_EMPTY: [&str; 9] = [
        "",
        "        Partition Storage:",
        "                Total Storage Space:  325896",
        "                Used Storage Space:   9648",
        "                Free Storage Space:   316248",
        "                Object Count:         0",
        "                Overhead:             9648",
        "",
        "Command Result : No Error",
    ];

    #[test]
    fn showinfo_prints_the_storage_block_of_3_5() {
        let mut f = fixture(&["11"]);
        let out = lines(&mut f, "partition showinfo");
        assert_eq!(out, BLOCK_EMPTY);
    }

    fn group_with_keys(f: &mut crate::test_support::Fixture, keys: usize) {
        lines(f, "hagroup creategroup -label g -serialnumber 11");
        lines(f, "hagroup addmember -group g -serialnumber 22");
        f.engine.initialize(0).expect("initialize");
        let vs = f.engine.open_session(0, 0).expect("open");
        f.engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        for i in 0..keys {
            f.engine
                .generate_key(0, vs, KeyKind::Aes256, &format!("k{i}"), true)
                .expect("generate");
        }
    }

    #[test]
    fn every_member_and_the_virtual_slot_show_the_same_figures_b18() {
        let mut f = fixture(&["11", "22"]);
        group_with_keys(&mut f, 3);
        let mut blocks = Vec::new();
        for slot in 0..3 {
            lines(&mut f, &format!("slot set -slot {slot}"));
            blocks.push(lines(&mut f, "partition showinfo"));
        }
        assert_eq!(blocks[0][3], "                Used Storage Space:   11232");
        assert_eq!(blocks[0][5], "                Object Count:         3");
        assert_eq!(blocks[1], blocks[0]);
        assert_eq!(blocks[2], blocks[0]);
    }

    #[test]
    fn the_virtual_slot_reports_the_first_member_that_answers_lunacm_d22() {
        let mut f = fixture(&["11", "22"]);
        group_with_keys(&mut f, 1);
        // 22 holds one more object, so the figures tell the members apart.
        f.controls[1].put("extra", ha_engine::ports::ObjectClass::Data);
        lines(&mut f, "slot set -slot 2");
        let count =
            |f: &mut crate::test_support::Fixture| lines(f, "partition showinfo")[5].clone();
        assert_eq!(count(&mut f), "                Object Count:         1");
        // The application drops 11 (its signs fail), then 11 answers again: the application's
        // engine still counts it down, but LunaCM's own probe finds it, so it is the primary.
        f.controls[0].set_reachable(false);
        let vs = f.engine.open_session(0, 0).expect("open");
        let key = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("generate");
        for _ in 0..2 {
            f.engine.sign(0, vs, key[0], b"x").expect("sign fails over");
        }
        assert_eq!(f.engine.alive_members()["g"], ["22"]);
        f.controls[0].set_reachable(true);
        assert_eq!(count(&mut f), "                Object Count:         1");
        // 11 does not answer LunaCM: the primary is the next member that does (B30).
        f.controls[0].set_reachable(false);
        assert_eq!(count(&mut f), "                Object Count:         3");
        f.controls[1].set_reachable(false);
        assert_eq!(
            lines(&mut f, "partition showinfo"),
            [
                "Error: partition showinfo: no member of HA group 'g' answers, so its virtual slot has no primary (B5, B30)",
                "",
                "Command Result : Operation Failed",
            ]
        );
        f.controls[1].set_reachable(true);
        assert_eq!(count(&mut f), "                Object Count:         3");
    }

    #[test]
    fn clear_on_the_virtual_slot_empties_every_reachable_member() {
        let mut f = fixture(&["11", "22", "33"]);
        lines(&mut f, "hagroup creategroup -label g -serialnumber 11");
        lines(&mut f, "hagroup addmember -group g -serialnumber 22");
        lines(&mut f, "hagroup addmember -group g -serialnumber 33");
        f.engine.initialize(0).expect("initialize");
        let vs = f.engine.open_session(0, 0).expect("open");
        f.engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        let key = f
            .engine
            .generate_key(0, vs, KeyKind::EcP256, "pair", true)
            .expect("generate");
        f.controls[2].set_reachable(false);
        lines(&mut f, "slot set -slot 2");
        assert_eq!(
            lines(&mut f, "partition login")[3],
            "        Crypto Officer is logged in to the HA virtual slot of group g."
        );
        assert_eq!(
            lines(&mut f, "partition clear"),
            [
                "",
                "        Member 11:  2 token objects destroyed",
                "        Member 22:  2 token objects destroyed",
                "        Member 33:  not cleared (CKR_DEVICE_ERROR); the running application's HA engine destroys the token objects it knows of when the member recovers (D7); any other object stays on it",
                "",
                "Command Result : No Error",
            ]
        );
        assert_eq!(
            (
                f.controls[0].token_objects(),
                f.controls[1].token_objects(),
                f.controls[2].token_objects()
            ),
            (0, 0, 2)
        );
        // The application's handle to the cleared key is gone.
        let err = f.engine.sign(0, vs, key[0], b"x").expect_err("cleared");
        assert_eq!(err.rv, ha_engine::ckr::Ckr::CKR_OBJECT_HANDLE_INVALID);
        assert_eq!(f.engine.test_pending_deletes(0, 2), 1);
        assert_eq!(f.engine.test_group_objects(0), 0);
    }

    #[test]
    fn clear_says_how_many_objects_went_before_a_member_failed() {
        let mut f = fixture(&["11", "22"]);
        group_with_keys(&mut f, 3);
        crate::hagroup::testkit::fail_destroys_after(&mut f, 1, 1);
        lines(&mut f, "slot set -slot 2");
        lines(&mut f, "partition login");
        assert_eq!(
            lines(&mut f, "partition clear"),
            [
                "",
                "        Member 11:  3 token objects destroyed",
                "        Member 22:  not cleared (CKR_DEVICE_ERROR after 1 token objects were deleted); the running application's HA engine destroys the token objects it knows of when the member recovers (D7); any other object stays on it",
                "",
                "Command Result : No Error",
            ]
        );
        assert_eq!(
            (f.controls[0].token_objects(), f.controls[1].token_objects()),
            (0, 2)
        );
        assert_eq!(f.engine.test_pending_deletes(0, 1), 3);
    }

    #[test]
    fn clear_that_clears_no_member_says_what_went_and_keeps_the_engine_table() {
        let mut f = fixture(&["11", "22"]);
        group_with_keys(&mut f, 2);
        crate::hagroup::testkit::fail_destroys_after(&mut f, 0, 1);
        f.controls[1].set_reachable(false);
        lines(&mut f, "slot set -slot 1");
        lines(&mut f, "partition login");
        assert_eq!(
            lines(&mut f, "partition clear"),
            [
                "",
                "        Member 11:  not cleared (CKR_DEVICE_ERROR after 1 token objects were deleted)",
                "        Member 22:  not cleared (CKR_DEVICE_ERROR)",
                "Error: partition clear: no member of HA group 'g' could be cleared (11: CKR_DEVICE_ERROR after 1 token objects were deleted, 22: CKR_DEVICE_ERROR); 1 token objects were destroyed before the failures",
                "",
                "Command Result : Operation Failed",
            ]
        );
        assert_eq!(f.engine.test_group_objects(0), 2);
    }

    #[test]
    fn without_a_running_application_the_note_says_what_stays() {
        let mut f = fixture(&["11", "22"]);
        lines(&mut f, "hagroup creategroup -label g -serialnumber 11");
        lines(&mut f, "hagroup addmember -group g -serialnumber 22");
        f.controls[1].set_reachable(false);
        lines(&mut f, "slot set -slot 1");
        lines(&mut f, "partition login");
        assert_eq!(
            lines(&mut f, "partition clear")[2],
            "        Member 22:  not cleared (CKR_DEVICE_ERROR); its remaining objects stay on it (no running application remembers the deletions, and hagroup synchronize never deletes)"
        );
    }

    #[test]
    fn clear_is_refused_on_a_physical_slot_and_without_a_credential() {
        let mut f = fixture(&["11"]);
        lines(&mut f, "hagroup creategroup -label g -serialnumber 11");
        assert_eq!(
            lines(&mut f, "partition clear"),
            [
                "Error: partition clear: the current slot is partition 11, a physical slot; hasim clears only an HA virtual slot (an operation on a member's own slot bypasses HA, B21, and would leave the group diverged)",
                "",
                "Command Result : Operation Failed",
            ]
        );
        lines(&mut f, "slot set -slot 1");
        // LunaCM requires `partition login` on the virtual slot first (the seed, step 3).
        assert_eq!(
            lines(&mut f, "partition clear")[0],
            "Error: partition clear: the Crypto Officer is not logged in to the current slot; run 'partition login' first"
        );
        let out = f.cm.execute(&mut f.engine, 0, "partition login", None);
        assert_eq!(
            out.result.expect_err("no credential").to_string(),
            "partition login: needs the Crypto Officer credential (LunaCM prompts for it; hasim takes it from the scenario's credentials)"
        );
        let out = f.cm.execute(
            &mut f.engine,
            0,
            "partition login",
            Some(&Secret::new("wrong")),
        );
        assert_eq!(
            out.result.expect_err("wrong credential").to_string(),
            "partition login: partition 11 refused the login: CKR_PIN_INCORRECT"
        );
        assert_eq!(
            lines(&mut f, "partition login")[1],
            "        Enter the password: ********"
        );
        assert_eq!(
            lines(&mut f, "partition logout")[1],
            "        Crypto Officer is logged out."
        );
        assert_eq!(
            lines(&mut f, "partition clear")[0],
            "Error: partition clear: the Crypto Officer is not logged in to the current slot; run 'partition login' first"
        );
    }
}
