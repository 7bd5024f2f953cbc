//! Command flows over test partitions: what the scenario language cannot set up (members whose
//! policies differ after they joined, B14) and the "a refused command changes nothing" rule.

use crate::hagroup::testkit::{self, run};
use crate::ports::{ObjectClass, Secret};

fn rendered(engine: &mut crate::engine::HaEngine, line: &str) -> String {
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
        "New group with label \"g1\" created with group number 1111.\n\nCommand Result : No Error\n"
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
        "Warning: Synchronize may fail.  The members in slot 0 and slot 1 have conflicting settings for private key cloning.\n\
         Member 111: 1 token objects cloned to it.\n\
         Member 222: 1 token objects cloned to it.\n\
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
        "Member 222 is not reachable and was not synchronized.\n\
         Member 111: 0 token objects cloned to it.\n\
         Group g1 synchronized: its 1 reachable members hold the same 1 token objects.\n\
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
    let out = crate::hagroup::execute(
        &mut engine,
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
        "New group with label \"g1\" created with group number 1222.\n\nCommand Result : No Error\n"
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
        "Partition 222 already holds 1 token objects.\n\
         Enter 'copy' to replicate them into the group, 'remove' to delete them, or 'quit' to abort: remove\n\
         1 token objects deleted from partition 222.\n\
         Member 222 successfully added to group g1.\n\
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
    let _ = crate::sync::synchronize(&mut engine, 0, &pin);
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
    controls[1].edit_props(|p| p.form = crate::ports::HsmForm::Cloud);
    engine.config.cloud_members_standby = false;
    run(
        &mut engine,
        "hagroup creategroup -label g1 -serialnumber 111",
    );
    assert_eq!(
        run(&mut engine, "hagroup addmember -group g1 -serialnumber 222").lines,
        vec!["Member 222 successfully added to group g1.".to_string()]
    );
    assert!(engine.config().groups[0].standby.is_empty());
}
