//! Behaviour tests of a partition and the model: login, handle reissue, session objects,
//! cloning, policies, storage accounting, determinism.
#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use hsm_model::{
    APPLICATION, HsmModel, HsmSpec, KeyKind, LUNACM, ModelError, ObjectClass, Partition,
    PartitionSpec, Query,
};

const PIN: &str = "co-secret-pin";

/// Two HSMs, partitions P1 (H1) and P2 (H2) in domain "dom-A", P3 (H2) in "dom-B".
fn model() -> HsmModel {
    let mut m = HsmModel::new(42);
    m.add_hsm(HsmSpec::new("H1")).unwrap();
    m.add_hsm(HsmSpec::new("H2")).unwrap();
    m.add_partition(PartitionSpec::new("P1", "part1", "H1", "dom-A", PIN))
        .unwrap();
    m.add_partition(PartitionSpec::new("P2", "part2", "H2", "dom-A", PIN))
        .unwrap();
    m.add_partition(PartitionSpec::new("P3", "part3", "H2", "dom-B", PIN))
        .unwrap();
    m
}

fn p<'a>(m: &'a mut HsmModel, serial: &str) -> &'a mut Partition {
    m.partition_mut(serial).unwrap()
}

/// Opens a session on `serial` and logs in.
fn logged_in(m: &mut HsmModel, serial: &str) -> u64 {
    let part = p(m, serial);
    let s = part.open_session().unwrap();
    part.login(s, PIN).unwrap();
    s
}

fn by_id(part: &Partition, s: u64, id: &[u8], class: ObjectClass) -> Vec<u64> {
    part.find_objects(
        s,
        &Query {
            id: Some(id.to_vec()),
            class: Some(class),
            token: None,
            label: None,
        },
    )
    .unwrap()
}

#[test]
fn each_client_process_logs_in_for_itself_d22() {
    let mut m = model();
    let part = p(&mut m, "P1");
    let app = part.open_session_for(APPLICATION).unwrap();
    part.login(app, PIN).unwrap();
    part.generate_key(app, KeyKind::Aes256, b"k", "k", true)
        .unwrap();
    // LunaCM's session does not share the application's login: it must log in, and a wrong
    // credential is refused although the application is logged in.
    let admin = part.open_session_for(LUNACM).unwrap();
    assert!(!part.is_client_logged_in(LUNACM));
    assert_eq!(part.find_objects(admin, &Query::default()).unwrap(), []);
    assert_eq!(part.login(admin, "wrong"), Err(ModelError::PinIncorrect));
    part.set_co_credential("changed");
    assert_eq!(part.login(admin, PIN), Err(ModelError::PinIncorrect));
    part.login(admin, "changed").unwrap();
    assert_eq!(
        part.find_objects(admin, &Query::default()).unwrap().len(),
        1
    );
    // Closing LunaCM's last session logs LunaCM out; the application stays logged in and its
    // handles stay valid (its session is still open).
    let handles = part.find_objects(app, &Query::default()).unwrap();
    part.close_session(admin).unwrap();
    assert!(!part.is_client_logged_in(LUNACM));
    assert!(part.is_logged_in());
    assert_eq!(part.find_objects(app, &Query::default()).unwrap(), handles);
    part.sign(app, handles[0], b"x").unwrap();
}

#[test]
fn model_registry() {
    let mut m = model();
    assert_eq!(
        m.add_hsm(HsmSpec::new("H1")),
        Err(ModelError::DuplicateSerial("H1".into()))
    );
    assert_eq!(
        m.add_partition(PartitionSpec::new("H1", "x", "H1", "d", PIN)),
        Err(ModelError::DuplicateSerial("H1".into()))
    );
    assert_eq!(
        m.add_partition(PartitionSpec::new("P9", "x", "H9", "d", PIN)),
        Err(ModelError::UnknownHsm("H9".into()))
    );
    let serials: Vec<&str> = m.partitions().map(Partition::serial).collect();
    assert_eq!(serials, ["P1", "P2", "P3"]);
    assert_eq!(m.hsm_of("P3").map(|h| h.serial()), Some("H2"));
    assert!(m.hsm_of("P9").is_none());
    let p1 = m.partition("P1").unwrap();
    assert_eq!(
        (p1.label(), p1.domain(), p1.hsm_serial()),
        ("part1", "dom-A", "H1")
    );
    assert_eq!((p1.policy(0), p1.policy(4), p1.policy(22)), (1, 1, 0));
}

#[test]
fn credential_never_prints() {
    let spec = PartitionSpec::new("P1", "part1", "H1", "dom-A", PIN);
    assert!(!format!("{spec:?}").contains(PIN));
    let m = model();
    assert!(!format!("{m:?}").contains(PIN));
    assert!(!format!("{:?}", m.partition("P1").unwrap()).contains(PIN));
}

#[test]
fn login_semantics() {
    let mut m = model();
    let part = p(&mut m, "P1");
    assert_eq!(part.login(99, PIN), Err(ModelError::SessionHandleInvalid));
    let s1 = part.open_session().unwrap();
    let s2 = part.open_session().unwrap();
    assert_ne!(s1, s2);
    assert_eq!(part.logout(s1), Err(ModelError::UserNotLoggedIn));
    assert_eq!(part.login(s1, "wrong"), Err(ModelError::PinIncorrect));
    part.login(s1, PIN).unwrap();
    // Login is per partition: the other session is logged in too.
    assert_eq!(part.login(s2, PIN), Err(ModelError::UserAlreadyLoggedIn));
    assert_eq!(part.login(s1, PIN), Err(ModelError::UserAlreadyLoggedIn));
    part.generate_key(s2, KeyKind::Aes256, b"k", "k", true)
        .unwrap();
    part.logout(s2).unwrap();
    assert_eq!(
        part.generate_key(s1, KeyKind::Aes256, b"k2", "k", true),
        Err(ModelError::UserNotLoggedIn)
    );
    part.login(s2, PIN).unwrap();

    // Deactivation drops the login and blocks a new one.
    part.set_activated(false);
    assert!(!part.is_logged_in());
    assert_eq!(part.login(s1, PIN), Err(ModelError::NotActivated));
    part.set_activated(true);
    part.login(s1, PIN).unwrap();

    // A credential changed elsewhere.
    part.logout(s1).unwrap();
    part.set_co_credential("new-pin");
    assert_eq!(part.login(s1, PIN), Err(ModelError::PinIncorrect));
    part.login(s1, "new-pin").unwrap();
}

#[test]
fn forced_pin_change_expires_an_unchanged_credential() {
    let mut m = HsmModel::new(1);
    m.add_hsm(HsmSpec::new("H").with_policy(21, 1)).unwrap();
    let mut spec = PartitionSpec::new("P", "p", "H", "d", PIN);
    spec.co_credential_changed = false;
    m.add_partition(spec).unwrap();
    let part = p(&mut m, "P");
    let s = part.open_session().unwrap();
    assert_eq!(part.login(s, PIN), Err(ModelError::PinExpired));
    part.set_co_credential("changed");
    part.login(s, "changed").unwrap();
}

#[test]
fn closed_sessions_are_invalid_and_never_reused() {
    let mut m = model();
    let part = p(&mut m, "P1");
    let s1 = part.open_session().unwrap();
    part.close_session(s1).unwrap();
    assert_eq!(
        part.close_session(s1),
        Err(ModelError::SessionHandleInvalid)
    );
    assert_eq!(
        part.find_objects(s1, &Query::default()),
        Err(ModelError::SessionHandleInvalid)
    );
    let s2 = part.open_session().unwrap();
    assert!(s2 > s1);
    part.close_all_sessions().unwrap();
    assert_eq!(part.login(s2, PIN), Err(ModelError::SessionHandleInvalid));
    assert!(part.open_session().unwrap() > s2);
}

#[test]
fn handles_are_reissued_after_logout() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let old = part
        .generate_key(s, KeyKind::Aes256, b"ouid-1", "k", true)
        .unwrap()[0];
    let sig = part.sign(s, old, b"msg").unwrap();
    part.logout(s).unwrap();
    part.login(s, PIN).unwrap();
    assert_eq!(
        part.sign(s, old, b"msg"),
        Err(ModelError::ObjectHandleInvalid)
    );
    assert_eq!(
        part.object_info(s, old),
        Err(ModelError::ObjectHandleInvalid)
    );
    let found = by_id(part, s, b"ouid-1", ObjectClass::SecretKey);
    assert_eq!(found.len(), 1);
    assert_ne!(found[0], old);
    assert_eq!(part.sign(s, found[0], b"msg").unwrap(), sig);
    let info = part.object_info(s, found[0]).unwrap();
    assert_eq!(
        (
            info.id.as_slice(),
            info.class,
            info.label.as_str(),
            info.token
        ),
        (&b"ouid-1"[..], ObjectClass::SecretKey, "k", true)
    );
}

#[test]
fn handles_are_reissued_when_the_last_session_closes() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let old = part.create_data(s, b"d", "data", b"v", true).unwrap();
    part.close_session(s).unwrap();
    assert!(!part.is_logged_in());
    let s2 = part.open_session().unwrap();
    assert_eq!(
        part.object_info(s2, old),
        Err(ModelError::ObjectHandleInvalid)
    );
    let found = by_id(part, s2, b"d", ObjectClass::Data);
    assert_eq!(found.len(), 1);
    assert_ne!(found[0], old);

    // close_all_sessions reissues as well.
    part.close_all_sessions().unwrap();
    let s3 = part.open_session().unwrap();
    assert_eq!(
        part.object_info(s3, found[0]),
        Err(ModelError::ObjectHandleInvalid)
    );
}

#[test]
fn session_objects_vanish_with_their_session() {
    let mut m = model();
    let s1 = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let s2 = part.open_session().unwrap();
    let before = part.storage();
    let eph = part
        .generate_key(s2, KeyKind::EcP256, b"eph", "e", false)
        .unwrap();
    assert_eq!(eph.len(), 2);
    part.create_data(s2, b"eph-d", "d", b"x", false).unwrap();
    // Session objects are visible from every session of the application, but not charged.
    assert_eq!(
        by_id(part, s1, b"eph", ObjectClass::PrivateKey),
        vec![eph[0]]
    );
    assert_eq!(part.storage(), before);
    assert!(part.token_objects().is_empty());
    part.close_session(s2).unwrap();
    assert!(part.find_objects(s1, &Query::default()).unwrap().is_empty());
    assert_eq!(
        part.sign(s1, eph[0], b"m"),
        Err(ModelError::ObjectHandleInvalid)
    );
}

#[test]
fn logout_destroys_private_session_objects() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    part.generate_key(s, KeyKind::Rsa2048, b"pair", "r", false)
        .unwrap();
    part.logout(s).unwrap();
    part.login(s, PIN).unwrap();
    let left: Vec<ObjectClass> = part
        .find_objects(s, &Query::default())
        .unwrap()
        .into_iter()
        .map(|h| part.object_info(s, h).unwrap().class)
        .collect();
    assert_eq!(left, [ObjectClass::PublicKey]);
}

#[test]
fn private_objects_need_login() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    part.generate_key(s, KeyKind::EcP256, b"ec", "ec", true)
        .unwrap();
    part.generate_key(s, KeyKind::Aes128, b"aes", "aes", true)
        .unwrap();
    part.create_data(s, b"data", "data", b"v", true).unwrap();
    assert_eq!(part.find_objects(s, &Query::default()).unwrap().len(), 4);
    part.logout(s).unwrap();
    let public = part.find_objects(s, &Query::default()).unwrap();
    let classes: Vec<ObjectClass> = public
        .iter()
        .map(|h| part.object_info(s, *h).unwrap().class)
        .collect();
    assert_eq!(classes, [ObjectClass::PublicKey, ObjectClass::Data]);
    assert_eq!(
        part.sign(s, public[0], b"m"),
        Err(ModelError::UserNotLoggedIn)
    );
    // Public objects can be created and destroyed without login.
    let d = part.create_data(s, b"d2", "d2", b"", true).unwrap();
    part.destroy_object(s, d).unwrap();
    assert_eq!(
        part.destroy_object(s, d),
        Err(ModelError::ObjectHandleInvalid)
    );
}

#[test]
fn find_objects_filters_and_orders_by_handle() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let pair = part
        .generate_key(s, KeyKind::Rsa2048, b"r", "r", true)
        .unwrap();
    let sess = part
        .generate_key(s, KeyKind::Aes128, b"r", "a", false)
        .unwrap();
    assert!(pair[0] < pair[1]);
    let all_r = part
        .find_objects(
            s,
            &Query {
                id: Some(b"r".to_vec()),
                ..Query::default()
            },
        )
        .unwrap();
    assert_eq!(all_r, [pair[0], pair[1], sess[0]]);
    let token_only = part
        .find_objects(
            s,
            &Query {
                token: Some(true),
                ..Query::default()
            },
        )
        .unwrap();
    assert_eq!(token_only, pair);
    assert_eq!(by_id(part, s, b"r", ObjectClass::PublicKey), vec![pair[1]]);
}

#[test]
fn crypto_classes() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let aes = part
        .generate_key(s, KeyKind::Aes128, b"a", "a", true)
        .unwrap()[0];
    let ec = part
        .generate_key(s, KeyKind::EcP256, b"e", "e", true)
        .unwrap();
    let data = part.create_data(s, b"d", "d", b"v", true).unwrap();
    assert_eq!(part.sign(s, aes, b"m").unwrap().len(), 32);
    assert_eq!(part.sign(s, ec[0], b"m").unwrap().len(), 32);
    assert_eq!(
        part.sign(s, ec[1], b"m"),
        Err(ModelError::KeyFunctionNotPermitted)
    );
    assert_eq!(
        part.sign(s, data, b"m"),
        Err(ModelError::KeyFunctionNotPermitted)
    );
    assert_eq!(part.encrypt(s, aes, b"hello").unwrap().len(), 5 + 16);
    for h in [ec[0], ec[1], data] {
        assert_eq!(
            part.encrypt(s, h, b"m"),
            Err(ModelError::KeyTypeInconsistent)
        );
    }
    assert_eq!(
        part.sign(s, 9999, b"m"),
        Err(ModelError::ObjectHandleInvalid)
    );
}

#[test]
fn clone_within_a_domain_signs_identically() {
    let mut m = model();
    let s1 = logged_in(&mut m, "P1");
    let s2 = logged_in(&mut m, "P2");
    let pair = p(&mut m, "P1")
        .generate_key(s1, KeyKind::Rsa2048, b"ouid", "rsa", true)
        .unwrap();
    let aes = p(&mut m, "P1")
        .generate_key(s1, KeyKind::Aes256, b"aes", "aes", true)
        .unwrap()[0];
    let copy = m.clone_object("P1", s1, pair[0], "P2", s2).unwrap();
    let pub_copy = m.clone_object("P1", s1, pair[1], "P2", s2).unwrap();
    let aes_copy = m.clone_object("P1", s1, aes, "P2", s2).unwrap();

    let p1 = m.partition("P1").unwrap();
    let p2 = m.partition("P2").unwrap();
    assert_eq!(
        p1.sign(s1, pair[0], b"msg").unwrap(),
        p2.sign(s2, copy, b"msg").unwrap()
    );
    assert_eq!(
        p1.encrypt(s1, aes, b"msg").unwrap(),
        p2.encrypt(s2, aes_copy, b"msg").unwrap()
    );
    assert_eq!(
        p2.object_info(s2, pub_copy).unwrap().class,
        ObjectClass::PublicKey
    );
    assert_eq!(p1.token_objects(), p2.token_objects());
    assert_eq!(p1.storage(), p2.storage());
    let info = p2.object_info(s2, copy).unwrap();
    assert_eq!((info.id, info.label), (b"ouid".to_vec(), "rsa".to_string()));
}

#[test]
fn cloned_session_object_belongs_to_the_importing_session() {
    let mut m = model();
    let s1 = logged_in(&mut m, "P1");
    let s2 = logged_in(&mut m, "P2");
    let other = p(&mut m, "P2").open_session().unwrap();
    let key = p(&mut m, "P1")
        .generate_key(s1, KeyKind::Aes128, b"k", "k", false)
        .unwrap()[0];
    let copy = m.clone_object("P1", s1, key, "P2", s2).unwrap();
    let p2 = p(&mut m, "P2");
    assert_eq!(p2.objects().next().map(|o| o.owner_session), Some(Some(s2)));
    assert_eq!(p2.storage().object_count, 0);
    p2.close_session(s2).unwrap();
    assert_eq!(
        p2.object_info(other, copy),
        Err(ModelError::ObjectHandleInvalid)
    );
    assert_eq!(p2.objects().count(), 0);
}

#[test]
fn clone_to_another_domain_is_refused_and_stores_nothing() {
    let mut m = model();
    let s1 = logged_in(&mut m, "P1");
    let s3 = logged_in(&mut m, "P3");
    let key = p(&mut m, "P1")
        .generate_key(s1, KeyKind::Aes256, b"k", "k", true)
        .unwrap()[0];
    let before = m.partition("P3").unwrap().storage();
    assert_eq!(
        m.clone_object("P1", s1, key, "P3", s3),
        Err(ModelError::CloneDomainMismatch)
    );
    let p3 = m.partition("P3").unwrap();
    assert_eq!(p3.storage(), before);
    assert_eq!(p3.objects().count(), 0);
}

#[test]
fn import_refuses_garbage_and_needs_login() {
    let mut m = model();
    let s2 = logged_in(&mut m, "P2");
    let part = p(&mut m, "P2");
    assert_eq!(
        part.import_clone(s2, b"nonsense"),
        Err(ModelError::CloneBlobInvalid)
    );
    part.logout(s2).unwrap();
    assert_eq!(
        part.import_clone(s2, b"nonsense"),
        Err(ModelError::UserNotLoggedIn)
    );
    assert_eq!(part.export_clone(s2, 1), Err(ModelError::UserNotLoggedIn));
}

#[test]
fn policies_refuse_export() {
    let mut m = model();
    let s1 = logged_in(&mut m, "P1");
    let s2 = logged_in(&mut m, "P2");
    let part = p(&mut m, "P1");
    let pair = part
        .generate_key(s1, KeyKind::EcP256, b"ec", "ec", true)
        .unwrap();
    let aes = part
        .generate_key(s1, KeyKind::Aes128, b"aes", "aes", true)
        .unwrap()[0];
    let data = part.create_data(s1, b"d", "d", b"v", true).unwrap();

    // Partition policy 0: private keys only.
    part.set_policy(0, 0);
    assert_eq!(
        part.export_clone(s1, pair[0]),
        Err(ModelError::CloningNotAllowed)
    );
    assert!(part.export_clone(s1, pair[1]).is_ok());
    assert!(part.export_clone(s1, aes).is_ok());
    part.set_policy(0, 1);

    // Partition policy 4: secret keys only.
    part.set_policy(4, 0);
    assert_eq!(
        part.export_clone(s1, aes),
        Err(ModelError::CloningNotAllowed)
    );
    assert!(part.export_clone(s1, pair[0]).is_ok());
    assert!(part.export_clone(s1, data).is_ok());
    part.set_policy(4, 1);

    // HSM policy 7: everything, on the source side...
    let blob = part.export_clone(s1, data).unwrap();
    m.set_hsm_policy("H1", 7, 0).unwrap();
    let part = p(&mut m, "P1");
    for h in [pair[0], pair[1], aes, data] {
        assert_eq!(part.export_clone(s1, h), Err(ModelError::CloningNotAllowed));
    }
    // ...and on the target side.
    m.set_hsm_policy("H2", 7, 0).unwrap();
    assert_eq!(
        p(&mut m, "P2").import_clone(s2, &blob),
        Err(ModelError::CloningNotAllowed)
    );
    m.set_hsm_policy("H2", 7, 1).unwrap();
    assert!(p(&mut m, "P2").import_clone(s2, &blob).is_ok());
    assert_eq!(
        m.set_hsm_policy("H9", 7, 1),
        Err(ModelError::UnknownHsm("H9".into()))
    );
}

#[test]
fn hsm_policy_from_spec_refuses_cloning() {
    let mut m = HsmModel::new(3);
    let mut spec = HsmSpec::new("H");
    spec.policies = [(7, 0)].into_iter().collect();
    m.add_hsm(spec).unwrap();
    m.add_partition(PartitionSpec::new("P", "p", "H", "d", PIN))
        .unwrap();
    assert_eq!(m.hsm("H").unwrap().policy(16), 1);
    let s = logged_in(&mut m, "P");
    let part = p(&mut m, "P");
    let k = part
        .generate_key(s, KeyKind::Aes128, b"k", "k", true)
        .unwrap()[0];
    assert_eq!(part.export_clone(s, k), Err(ModelError::CloningNotAllowed));
}

#[test]
fn storage_accounting() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let empty = part.storage();
    assert_eq!(
        (
            empty.total,
            empty.used,
            empty.free,
            empty.object_count,
            empty.overhead
        ),
        (325_896, 9648, 325_896 - 9648, 0, 9648)
    );
    part.generate_key(s, KeyKind::Aes256, b"a", "a", true)
        .unwrap();
    part.generate_key(s, KeyKind::EcP256, b"e", "e", true)
        .unwrap();
    let info = part.storage();
    assert_eq!(info.object_count, 3);
    assert_eq!(info.used, 9648 + 528 + 736 + 480);
    assert_eq!(info.free, 325_896 - info.used);

    let d = part.create_data(s, b"d", "d", &[0; 44], true).unwrap();
    assert_eq!(part.storage().used, info.used + 300);
    part.destroy_object(s, d).unwrap();
    assert_eq!(part.storage(), info);

    part.generate_key(s, KeyKind::Rsa2048, b"r", "r", true)
        .unwrap();
    part.generate_key(s, KeyKind::Aes128, b"q", "q", true)
        .unwrap();
    assert_eq!(part.storage().used, info.used + 1856 + 640 + 512);

    let views: Vec<(Vec<u8>, ObjectClass)> = part
        .token_objects()
        .into_iter()
        .map(|v| (v.id, v.class))
        .collect();
    assert_eq!(
        views,
        [
            (b"a".to_vec(), ObjectClass::SecretKey),
            (b"e".to_vec(), ObjectClass::PrivateKey),
            (b"e".to_vec(), ObjectClass::PublicKey),
            (b"q".to_vec(), ObjectClass::SecretKey),
            (b"r".to_vec(), ObjectClass::PrivateKey),
            (b"r".to_vec(), ObjectClass::PublicKey),
        ]
    );
}

#[test]
fn device_memory_leaves_state_unchanged() {
    let mut m = HsmModel::new(7);
    m.add_hsm(HsmSpec::new("H")).unwrap();
    let mut spec = PartitionSpec::new("P", "p", "H", "dom-A", PIN);
    // Room for an AES-256 key and 1000 bytes more, not for an RSA pair.
    spec.total_storage = 9648 + 528 + 1000;
    m.add_partition(spec).unwrap();
    m.add_partition(PartitionSpec::new("Q", "q", "H", "dom-A", PIN))
        .unwrap();
    let s = logged_in(&mut m, "P");
    let sq = logged_in(&mut m, "Q");
    let part = p(&mut m, "P");
    part.generate_key(s, KeyKind::Aes256, b"a", "a", true)
        .unwrap();
    let before_info = part.storage();
    let before_objects = part.token_objects();
    let before_handles = part.find_objects(s, &Query::default()).unwrap();

    assert_eq!(
        part.generate_key(s, KeyKind::Rsa2048, b"r", "r", true),
        Err(ModelError::DeviceMemory)
    );
    assert_eq!(
        part.create_data(s, b"d", "d", &[0; 745], true),
        Err(ModelError::DeviceMemory)
    );
    // Exactly full is fine.
    let d = part.create_data(s, b"d", "d", &[0; 744], true).unwrap();
    assert_eq!(part.storage().free, 0);
    part.destroy_object(s, d).unwrap();
    assert_eq!(part.storage(), before_info);
    assert_eq!(part.token_objects(), before_objects);
    assert_eq!(
        part.find_objects(s, &Query::default()).unwrap(),
        before_handles
    );
    // Session objects are not charged.
    part.generate_key(s, KeyKind::Rsa2048, b"r", "r", false)
        .unwrap();

    // An import that does not fit.
    let q = p(&mut m, "Q");
    let pair = q
        .generate_key(sq, KeyKind::Rsa2048, b"big", "big", true)
        .unwrap();
    let blob = q.export_clone(sq, pair[0]).unwrap();
    let part = p(&mut m, "P");
    assert_eq!(part.import_clone(s, &blob), Err(ModelError::DeviceMemory));
    assert_eq!(part.storage(), before_info);
    assert_eq!(part.token_objects(), before_objects);
}

#[test]
fn a_failed_generate_does_not_consume_randomness() {
    let run = |fail_first: bool| {
        let mut m = HsmModel::new(5);
        m.add_hsm(HsmSpec::new("H")).unwrap();
        let mut spec = PartitionSpec::new("P", "p", "H", "d", PIN);
        spec.total_storage = 9648 + 600;
        m.add_partition(spec).unwrap();
        let s = logged_in(&mut m, "P");
        let part = p(&mut m, "P");
        if fail_first {
            assert!(
                part.generate_key(s, KeyKind::Rsa2048, b"r", "r", true)
                    .is_err()
            );
        }
        let k = part
            .generate_key(s, KeyKind::Aes256, b"a", "a", true)
            .unwrap()[0];
        part.sign(s, k, b"m").unwrap()
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn determinism() {
    let sigs = |seed: u64| {
        let mut m = model();
        if seed != 42 {
            m = HsmModel::new(seed);
            m.add_hsm(HsmSpec::new("H1")).unwrap();
            m.add_hsm(HsmSpec::new("H2")).unwrap();
            m.add_partition(PartitionSpec::new("P1", "part1", "H1", "dom-A", PIN))
                .unwrap();
            m.add_partition(PartitionSpec::new("P2", "part2", "H2", "dom-A", PIN))
                .unwrap();
        }
        let s1 = logged_in(&mut m, "P1");
        let s2 = logged_in(&mut m, "P2");
        let k1 = p(&mut m, "P1")
            .generate_key(s1, KeyKind::EcP256, b"k", "k", true)
            .unwrap();
        let k2 = p(&mut m, "P2")
            .generate_key(s2, KeyKind::EcP256, b"k", "k", true)
            .unwrap();
        let a = m.partition("P1").unwrap().sign(s1, k1[0], b"msg").unwrap();
        let b = m.partition("P2").unwrap().sign(s2, k2[0], b"msg").unwrap();
        (a, b)
    };
    let (a1, b1) = sigs(42);
    let (a2, b2) = sigs(42);
    assert_eq!((&a1, &b1), (&a2, &b2));
    // Two partitions generating independently (same id, same label) get different material.
    assert_ne!(a1, b1);
    // Another seed, other material.
    let (a3, _) = sigs(43);
    assert_ne!(a1, a3);
}

#[test]
fn partition_rng_is_independent_of_other_partitions() {
    // P2's first key is the same whether or not P1 generated keys first.
    let first_sig = |p1_first: bool| {
        let mut m = model();
        let s1 = logged_in(&mut m, "P1");
        let s2 = logged_in(&mut m, "P2");
        if p1_first {
            p(&mut m, "P1")
                .generate_key(s1, KeyKind::Aes128, b"x", "x", true)
                .unwrap();
        }
        let k = p(&mut m, "P2")
            .generate_key(s2, KeyKind::Aes128, b"y", "y", true)
            .unwrap()[0];
        m.partition("P2").unwrap().sign(s2, k, b"m").unwrap()
    };
    assert_eq!(first_sig(true), first_sig(false));
}

/// The answers (or the error) of single `object_info_labelled` calls over `handles`, up to the
/// first failure, as `objects_info_labelled` must give them.
fn one_by_one(
    part: &Partition,
    s: u64,
    handles: &[u64],
    label: &str,
) -> (Vec<Option<hsm_model::ObjectView>>, Result<(), ModelError>) {
    let mut out = Vec::new();
    for &h in handles {
        match part.object_info_labelled(s, h, label) {
            Ok(v) => out.push(v),
            Err(e) => return (out, Err(e)),
        }
    }
    (out, Ok(()))
}

fn together(
    part: &Partition,
    s: u64,
    handles: &[u64],
    label: &str,
) -> (Vec<Option<hsm_model::ObjectView>>, Result<(), ModelError>) {
    let mut out = Vec::new();
    let end = part.objects_info_labelled(s, handles, label, |v| out.push(v));
    (out, end)
}

#[test]
fn attribute_reads_made_together_answer_as_one_by_one() {
    let mut m = model();
    let s = logged_in(&mut m, "P1");
    let part = p(&mut m, "P1");
    let a = part
        .generate_key(s, KeyKind::Aes256, b"a", "k", true)
        .unwrap()[0];
    let b = part.create_data(s, b"b", "d", b"v", true).unwrap();
    let c = part
        .generate_key(s, KeyKind::Aes256, b"c", "k", true)
        .unwrap()[0];
    let all = part.find_objects(s, &Query::default()).unwrap();
    assert_eq!(all, [a, b, c]);
    let cases: [&[u64]; 4] = [&[], &all, &[a, 999, c], &[b, a]];
    for handles in cases {
        assert_eq!(
            together(part, s, handles, "k"),
            one_by_one(part, s, handles, "k")
        );
    }
    // A stale handle fails after the answers before it.
    let (answers, end) = together(part, s, &[a, 999, c], "k");
    assert_eq!(answers.len(), 1);
    assert_eq!(end, Err(ModelError::ObjectHandleInvalid));
    // Without login a private key fails, a public data object answers; an unknown session
    // fails at the first call, and no call at all cannot fail.
    let guest = part.open_session_for(LUNACM).unwrap();
    for handles in [&[b, a][..], &[a, b][..]] {
        let want = one_by_one(part, guest, handles, "d");
        assert_eq!(together(part, guest, handles, "d"), want);
        assert_eq!(want.1, Err(ModelError::UserNotLoggedIn));
    }
    assert_eq!(
        together(part, 12345, &[a], "k"),
        (vec![], Err(ModelError::SessionHandleInvalid))
    );
    assert_eq!(together(part, 12345, &[], "k"), (vec![], Ok(())));
}
