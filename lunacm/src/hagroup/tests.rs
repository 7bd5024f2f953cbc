//! Command flows over test partitions: what the scenario language cannot set up (members whose
//! policies differ after they joined, B14), the "a refused command leaves the configuration as
//! it was" rule, and what a refusal after partition work says it did.

use crate::hagroup::testkit::{self, run};
use crate::test_support::Fixture;
use ha_engine::ports::{ObjectClass, Secret};

fn rendered(engine: &mut Fixture, line: &str) -> String {
    run(engine, line).render()
}

#[test]
fn synchronize_warns_on_conflicting_private_key_cloning_and_reports_what_failed() {
    let (mut engine, controls) = testkit::engine(&["111", "222"]);
    assert_eq!(
        rendered(
            &mut engine,
            "hagroup creategroup -label g1 -serialnumber 111"
        ),
        "        New group with label \"g1\" created with group number 1111.\n\nCommand Result : No Error\n"
    );
    assert!(
        run(&mut engine, "hagroup addmember -group g1 -serialnumber 222")
            .result
            .is_ok()
    );
    // After joining, 222's partition policy 0 is turned off (B14 is detected at synchronize).
    controls[1].edit_props(|p| {
        p.partition_policies.insert(0, 0);
    });
    controls[0].put("sk", ObjectClass::SecretKey);
    controls[1].put("pk", ObjectClass::PrivateKey);
    controls[1].put("pub", ObjectClass::PublicKey);
    assert_eq!(
        rendered(&mut engine, "hagroup synchronize -group g1"),
        "        Warning: Synchronize may fail.  The members in slot 0 and slot 1 have conflicting settings for private key cloning.\n\
         \x20       Member 111: 1 token objects cloned to it.\n\
                 \x20       Member 222: 1 token objects cloned to it.\n\
         Error: hagroup synchronize: 1 object copies could not be made in group g1; the first: private key pk to member 111: CKR_KEY_UNEXTRACTABLE (B14)\n\
         \n\
         Command Result : Operation Failed\n"
    );
    // Union, never delete (D8): what could be cloned was; nothing was removed.
    assert_eq!(
        controls[0].held(),
        vec![
            ("pub".to_string(), ObjectClass::PublicKey),
            ("sk".to_string(), ObjectClass::SecretKey)
        ]
    );
    assert_eq!(
        controls[1].held(),
        vec![
            ("pk".to_string(), ObjectClass::PrivateKey),
            ("pub".to_string(), ObjectClass::PublicKey),
            ("sk".to_string(), ObjectClass::SecretKey)
        ]
    );
}

#[test]
fn synchronize_skips_an_unreachable_member_and_needs_a_reachable_one() {
    let (mut engine, controls) = testkit::engine(&["111", "222"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    run(&mut engine, "hagroup addmember -group g1 -serialnumber 222");
    controls[0].put("a", ObjectClass::Data);
    controls[1].set_reachable(false);
    assert_eq!(
        rendered(&mut engine, "hagroup synchronize -group g1"),
        "        Member 222 is not reachable and was not synchronized.\n\
         \x20       Member 111: 0 token objects cloned to it.\n\
         \x20       Group g1 synchronized: its 1 reachable members hold the same 1 token objects.\n\
         \n\
         Command Result : No Error\n"
    );
    controls[0].set_reachable(false);
    assert_eq!(
        run(&mut engine, "hagroup synchronize -group g1")
            .result
            .map_err(|e| e.to_string()),
        Err("hagroup synchronize: group g1 cannot be synchronized: no member of the group is reachable (D8)".to_string())
    );
}

#[test]
fn refused_commands_change_nothing() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    controls[1].set_pin("another");
    controls[2].put("old", ObjectClass::SecretKey);
    let before = engine.config().clone();
    let refused = [
        (
            "hagroup addmember -group g1 -serialnumber 222",
            "hagroup addmember: partition 222 cannot join group g1: the group's Crypto Officer credential does not open it (CKR_PIN_INCORRECT); all members must share one Crypto Officer credential (B9)",
        ),
        (
            "hagroup addmember -group g1 -serialnumber 333",
            "hagroup addmember: partition 333 holds 1 token objects; give the answer to LunaCM's prompt as -answer copy, -answer remove or -answer quit (B12)",
        ),
        (
            "hagroup removemember -group g1 -serialnumber 111",
            "hagroup removemember: partition 111 is the last member of group g1; delete the group with hagroup deletegroup instead (B8)",
        ),
        (
            "hagroup addstandby -group g1 -serialnumber 222",
            "hagroup addstandby: partition 222 is not a member of group g1 (B38)",
        ),
    ];
    for (line, error) in refused {
        let out = run(&mut engine, line);
        assert_eq!(
            out.result.map_err(|e| e.to_string()),
            Err(error.to_string())
        );
        assert_eq!(engine.config(), &before, "{line} changed the configuration");
    }
    assert_eq!(controls[2].held().len(), 1);
}

#[test]
fn without_a_credential_creategroup_is_refused() {
    let (mut engine, _) = testkit::engine(&["111"]);
    let out = engine.cm.execute(
        &mut engine.engine,
        0,
        "hagroup creategroup -label g1 -serialnumber 111",
        None,
    );
    assert_eq!(
        out.result.map_err(|e| e.to_string()),
        Err("hagroup creategroup: the Crypto Officer credential is needed to check the partition (B9); LunaCM prompts for it and hasim takes it from the scenario's credentials".to_string())
    );
    assert!(engine.config().groups.is_empty());
}

#[test]
fn slot_numbers_skip_a_missing_slot_d14() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    controls[0].set_reachable(false);
    assert_eq!(
        rendered(&mut engine, "hagroup creategroup -label g1 -slot 0"),
        "        New group with label \"g1\" created with group number 1222.\n\nCommand Result : No Error\n"
    );
    assert_eq!(
        run(&mut engine, "hagroup addmember -group g1 -slot 2")
            .result
            .map_err(|e| e.to_string()),
        Err(
            "hagroup addmember: -slot 2 is not a partition slot (slots 0..1 are visible)"
                .to_string()
        )
    );
}

#[test]
fn remove_answer_deletes_and_copy_marks_needs_sync() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    controls[1].put("x", ObjectClass::SecretKey);
    controls[2].put("y", ObjectClass::Data);
    assert_eq!(
        rendered(
            &mut engine,
            "hagroup addmember -group g1 -serialnumber 222 -answer remove"
        ),
        "        Partition 222 already holds 1 token objects.\n\
         \x20       Enter 'copy' to replicate them into the group, 'remove' to delete them, or 'quit' to abort: remove\n\
         \x20       1 token objects deleted from partition 222.\n\
         \x20       Member 222 successfully added to group g1.\n\
         \n\
         Command Result : No Error\n"
    );
    assert!(controls[1].held().is_empty());
    assert!(
        run(&mut engine, "hagroup addmember -group g1 -se 333 -a copy")
            .result
            .is_ok()
    );
    let listing = run(&mut engine, "hagroup listgroups").lines;
    assert!(listing.contains(&"             Needs sync:  yes".to_string()));
    let pin = Secret::new(testkit::CO);
    let _ = crate::sync::synchronize(&mut engine.cm, 0, &pin);
    let listing = run(&mut engine, "hagroup listgroups").lines;
    assert!(listing.contains(&"             Needs sync:  no".to_string()));
    assert_eq!(
        controls[0].held(),
        vec![("y".to_string(), ObjectClass::Data)]
    );
}

#[test]
fn cloud_member_is_active_when_the_toggle_says_so() {
    let (mut engine, controls) = testkit::engine(&["111", "222"]);
    controls[1].edit_props(|p| p.form = ha_engine::ports::HsmForm::Cloud);
    engine.cm.config.cloud_members_standby = false;
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    assert_eq!(
        run(&mut engine, "hagroup addmember -group g1 -serialnumber 222").lines,
        vec!["        Member 222 successfully added to group g1.".to_string()]
    );
    assert!(engine.config().groups[0].standby.is_empty());
}

#[test]
fn addmember_checks_the_pcie_network_mix_against_every_member_b11() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    controls[0].edit_props(|p| p.form = ha_engine::ports::HsmForm::Usb);
    controls[2].edit_props(|p| p.form = ha_engine::ports::HsmForm::Pcie);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    run(&mut engine, "hagroup addmember -group g1 -serialnumber 222");
    let before = engine.config().clone();
    // The primary (USB) does not mix with PCIe; the Network member 222 does.
    assert_eq!(
        run(&mut engine, "hagroup addmember -group g1 -serialnumber 333")
            .result
            .map_err(|e| e.to_string()),
        Err("hagroup addmember: partition 333 cannot join group g1: its HSM hsm-333 is a PCIe HSM and member 222's HSM hsm-222 a Network HSM; PCIe and Network HSM partitions cannot be mixed (B11)".to_string())
    );
    assert_eq!(engine.config(), &before);
    // A member whose properties cannot be read now is not checked.
    controls[1].set_reachable(false);
    assert!(
        run(&mut engine, "hagroup addmember -group g1 -serialnumber 333")
            .result
            .is_ok()
    );
}

#[test]
fn removing_the_primary_keeps_the_firmware_order_b11() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    controls[0].edit_props(|p| p.firmware = (7, 3, 0));
    controls[2].edit_props(|p| p.firmware = (7, 4, 2));
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    // A primary older than 7.7.0 may have any secondary.
    run(&mut engine, "hagroup addmember -group g1 -serialnumber 222");
    run(&mut engine, "hagroup addmember -group g1 -serialnumber 333");
    assert_eq!(engine.config().groups[0].members.len(), 3);
    let before = engine.config().clone();
    assert_eq!(
        run(&mut engine, "hagroup removemember -group g1 -serialnumber 111")
            .result
            .map_err(|e| e.to_string()),
        Err("hagroup removemember: partition 111 is the primary of group g1 and cannot be removed: member 222 would become the primary; its HSM hsm-222 runs firmware 7.7.0 and member 333's HSM hsm-333 runs 7.4.2; a primary on firmware 7.7.0 or later cannot have an older secondary (B11)".to_string())
    );
    assert_eq!(engine.config(), &before);
    // Without the older member behind it, 222 may become the primary.
    assert!(
        run(
            &mut engine,
            "hagroup removemember -group g1 -serialnumber 333"
        )
        .result
        .is_ok()
    );
    assert!(
        run(
            &mut engine,
            "hagroup removemember -group g1 -serialnumber 111"
        )
        .result
        .is_ok()
    );
    assert_eq!(engine.config().groups[0].members, ["222"]);
}

#[test]
fn a_remove_answer_that_fails_part_way_says_what_was_deleted() {
    let (mut engine, controls) = testkit::engine(&["111", "222"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    controls[1].put("a", ObjectClass::SecretKey);
    controls[1].put("b", ObjectClass::SecretKey);
    controls[1].put("c", ObjectClass::Data);
    testkit::fail_destroys_after(&mut engine, 1, 2);
    let before = engine.config().clone();
    let out = run(
        &mut engine,
        "hagroup addmember -group g1 -serialnumber 222 -answer remove",
    );
    assert_eq!(
        out.result.map_err(|e| e.to_string()),
        Err("hagroup addmember: partition 222 cannot join group g1: deleting its token objects failed (CKR_DEVICE_ERROR after 2 token objects were deleted); it was not added (B12)".to_string())
    );
    assert_eq!(engine.config(), &before);
    assert_eq!(controls[1].held().len(), 1);
}

#[test]
fn listgroups_numbers_the_virtual_slot_as_lunacm_does_also_in_ha_only_mode() {
    let (mut engine, controls) = testkit::engine(&["111", "222", "333"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    run(&mut engine, "hagroup addmember -group g1 -serialnumber 222");
    let slot_id = |engine: &mut Fixture| {
        run(engine, "hagroup listgroups")
            .lines
            .into_iter()
            .find(|l| l.contains("HA Group Slot ID"))
    };
    let want = Some("       HA Group Slot ID:  3".to_string());
    assert_eq!(slot_id(&mut engine), want);
    run(&mut engine, "hagroup haonly -enable");
    // LunaCM lists the physical slots in HA-only mode too (B57), as `slot list` numbers them.
    assert_eq!(slot_id(&mut engine), want);
    let listed = engine
        .cm
        .execute(&mut engine.engine, 0, "slot list", None)
        .lines;
    assert!(listed.contains(&"        Slot Id ->              3".to_string()));
    controls[2].set_reachable(false);
    assert_eq!(
        slot_id(&mut engine),
        Some("       HA Group Slot ID:  2".to_string())
    );
}

#[test]
fn listgroups_reads_sync_data_of_group_members_only() {
    let (mut engine, _) = testkit::engine(&["111", "222", "333"]);
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    let outsider = testkit::count_sessions(&mut engine, 2);
    let member = testkit::count_sessions(&mut engine, 0);
    assert!(run(&mut engine, "hagroup listgroups").result.is_ok());
    use std::sync::atomic::Ordering;
    assert_eq!(outsider.load(Ordering::Relaxed), 0);
    assert_eq!(member.load(Ordering::Relaxed), 1);
}

#[test]
fn slot_out_of_range_reads_right_when_no_slot_is_visible() {
    let (mut engine, controls) = testkit::engine(&["111"]);
    controls[0].set_reachable(false);
    assert_eq!(
        run(&mut engine, "hagroup creategroup -label g1 -slot 0")
            .result
            .map_err(|e| e.to_string()),
        Err(
            "hagroup creategroup: -slot 0 is not a partition slot (no slot is visible)".to_string()
        )
    );
}
