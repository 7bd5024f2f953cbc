//! The `Member` contract, written once and run against every backend: the model adapter
//! (`sim::model_member::ModelMember`, in this crate's tests) and real SoftHSM tokens
//! ([`SoftHsmBackend`], run in a child process by the `softhsm` test).
//!
//! Each case gets fresh members from a [`Backend`] and checks one part of the contract:
//! replicas sign / encrypt on every member and verify / decrypt on every other; an AES key
//! check value matches on replicas and not on a fresh key under the same `CKA_ID`; multi-part
//! signing; finding, describing, counting and destroying objects; login and session errors;
//! clones stay in their domain; session objects; a key that cannot be replicated.
//!
//! What a backend cannot do through the port (verify, decrypt, key check value, make a key
//! that cannot leave) it does in [`Backend`]'s own way: SoftHSM with real `C_Verify` /
//! `C_Decrypt` / AES-ECB, the model by recomputing its stand-in functions.

use std::path::PathBuf;

use ha_engine::ckr::Ckr;
use ha_engine::ports::{
    DataObjectRequest, KeyGenRequest, KeyKind, Member, MemberResult, ObjectClass, ObjectHandle,
    ObjectId, ObjectInfo, ObjectQuery, Secret, SessionHandle,
};

use crate::member::Pkcs11Member;
use crate::softhsm::{LabSpec, SoftHsmLab};

/// A source of fresh members and of the checks the port does not offer.
pub trait Backend {
    /// The member type.
    type M: Member;
    /// The user (Crypto Officer) PIN of every member.
    fn pin(&self) -> Secret;
    /// `n` fresh, empty members of one new cloning domain (every call is another domain).
    fn domain(&mut self, n: usize) -> Result<Vec<Self::M>, String>;
    /// The class of the object that verifies signatures of `kind` on this backend.
    fn verifying_class(&self, kind: KeyKind) -> ObjectClass;
    /// Checks `signature` over `data` with `key` (of [`Backend::verifying_class`]).
    fn verify(
        &mut self,
        member: &mut Self::M,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
        signature: &[u8],
    ) -> MemberResult<bool>;
    /// Decrypts what `encrypt` made with an AES key.
    fn decrypt(
        &mut self,
        member: &mut Self::M,
        session: SessionHandle,
        key: ObjectHandle,
        ciphertext: &[u8],
    ) -> MemberResult<Vec<u8>>;
    /// A key check value of an AES key.
    fn check_value(
        &mut self,
        member: &mut Self::M,
        session: SessionHandle,
        key: ObjectHandle,
    ) -> MemberResult<Vec<u8>>;
    /// An AES token key under `id` that the member refuses to export.
    fn unreplicable_key(
        &mut self,
        member: &mut Self::M,
        session: SessionHandle,
        id: &ObjectId,
    ) -> MemberResult<ObjectHandle>;
}

/// The outcome of one case: `Err` says what broke.
pub type CaseResult = Result<(), String>;

/// One case of the contract.
pub struct Case<B: Backend> {
    /// Its name (a test name).
    pub name: &'static str,
    /// Its body.
    pub run: fn(&mut B) -> CaseResult,
}

/// Every case, in a fixed order.
pub fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        Case {
            name: "replicas_work_on_every_member",
            run: replicas_work_on_every_member::<B>,
        },
        Case {
            name: "check_value_tells_replicas_from_fresh_keys",
            run: check_value_tells_replicas_from_fresh_keys::<B>,
        },
        Case {
            name: "multipart_sign_matches_single_part",
            run: multipart_sign_matches_single_part::<B>,
        },
        Case {
            name: "objects_are_found_described_counted_destroyed",
            run: objects_are_found_described_counted_destroyed::<B>,
        },
        Case {
            name: "login_and_session_errors",
            run: login_and_session_errors::<B>,
        },
        Case {
            name: "clones_stay_in_their_domain",
            run: clones_stay_in_their_domain::<B>,
        },
        Case {
            name: "session_objects_replicate_uncounted",
            run: session_objects_replicate_uncounted::<B>,
        },
        Case {
            name: "unreplicable_key_is_refused",
            run: unreplicable_key_is_refused::<B>,
        },
    ]
}

// ----- helpers ------------------------------------------------------------------------------

fn ok<T>(r: MemberResult<T>, what: &str) -> Result<T, String> {
    r.map_err(|ckr| format!("{what}: {ckr}"))
}

fn expect_err<T: std::fmt::Debug>(r: MemberResult<T>, want: Ckr, what: &str) -> CaseResult {
    match r {
        Err(got) if got == want => Ok(()),
        other => Err(format!("{what}: expected {want}, got {other:?}")),
    }
}

fn check(cond: bool, what: &str) -> CaseResult {
    if cond { Ok(()) } else { Err(what.to_string()) }
}

fn id(text: &str) -> ObjectId {
    ObjectId(text.as_bytes().to_vec())
}

fn keygen(kind: KeyKind, id_text: &str, token: bool) -> KeyGenRequest {
    KeyGenRequest {
        kind,
        id: id(id_text),
        label: format!("label {id_text}"),
        token,
    }
}

fn classes(kind: KeyKind) -> Vec<ObjectClass> {
    if kind.is_pair() {
        vec![ObjectClass::PrivateKey, ObjectClass::PublicKey]
    } else {
        vec![ObjectClass::SecretKey]
    }
}

fn signing_class(kind: KeyKind) -> ObjectClass {
    if kind.is_pair() {
        ObjectClass::PrivateKey
    } else {
        ObjectClass::SecretKey
    }
}

/// Opens a session on every member and logs it in.
fn login_all<B: Backend>(b: &B, members: &mut [B::M]) -> Result<Vec<SessionHandle>, String> {
    let mut sessions = Vec::new();
    for m in members.iter_mut() {
        let s = ok(m.open_session(), "open_session")?;
        ok(m.login(s, &b.pin()), "login")?;
        sessions.push(s);
    }
    Ok(sessions)
}

/// The one object `(id, class)` on a member.
fn find_one<M: Member>(
    m: &mut M,
    s: SessionHandle,
    id: &ObjectId,
    class: ObjectClass,
) -> Result<ObjectHandle, String> {
    let found = ok(
        m.find_objects(
            s,
            &ObjectQuery {
                id: Some(id.clone()),
                class: Some(class),
                token: None,
                label: None,
            },
        ),
        "find_objects",
    )?;
    match found.as_slice() {
        [h] => Ok(*h),
        other => Err(format!(
            "{} {class:?} on {}: found {} objects",
            id,
            m.serial(),
            other.len()
        )),
    }
}

/// Clones `(id, class)` from member `from` to member `to`.
fn clone_to<M: Member>(
    src: &mut M,
    s_src: SessionHandle,
    dst: &mut M,
    s_dst: SessionHandle,
    id: &ObjectId,
    class: ObjectClass,
) -> Result<ObjectHandle, String> {
    let h = find_one(src, s_src, id, class)?;
    let blob = ok(src.export_clone(s_src, h), "export_clone")?;
    ok(dst.import_clone(s_dst, &blob), "import_clone")
}

fn two<M>(members: &mut [M], a: usize, b: usize) -> (&mut M, &mut M) {
    assert!(a < b, "two() wants a < b");
    let (left, right) = members.split_at_mut(b);
    (&mut left[a], &mut right[0])
}

/// Clones `(id, classes)` from member 0 to every other member.
fn replicate<M: Member>(
    members: &mut [M],
    sessions: &[SessionHandle],
    id: &ObjectId,
    cls: &[ObjectClass],
) -> CaseResult {
    for t in 1..members.len() {
        let (src, dst) = two(members, 0, t);
        for class in cls {
            clone_to(src, sessions[0], dst, sessions[t], id, *class)?;
        }
    }
    Ok(())
}

fn count<M: Member>(m: &mut M) -> Result<u64, String> {
    Ok(ok(m.token_info(), "token_info")?.object_count)
}

const MSG: &[u8] = b"hasim conformance: the same key on every member";

// ----- cases --------------------------------------------------------------------------------

/// Every key kind generated on member 0 and cloned to two others: each member's copy signs
/// and every member verifies; AES encrypts on each and decrypts on every other; a data object
/// travels too; object info and counts agree.
fn replicas_work_on_every_member<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(3)?;
    let ss = login_all(b, &mut ms)?;
    let kinds = [
        KeyKind::Aes128,
        KeyKind::Aes256,
        KeyKind::EcP256,
        KeyKind::Rsa2048,
    ];
    for kind in kinds {
        let key_id = format!("conf-{kind:?}");
        let oid = id(&key_id);
        let made = ok(
            ms[0].generate_key(ss[0], &keygen(kind, &key_id, true)),
            "generate_key",
        )?;
        check(
            made.len() == classes(kind).len(),
            "generate_key returns one handle per object",
        )?;
        replicate(&mut ms, &ss, &oid, &classes(kind))?;
        for (i, m) in ms.iter_mut().enumerate() {
            for class in classes(kind) {
                let h = find_one(m, ss[i], &oid, class)?;
                let info = ok(m.object_info(ss[i], h), "object_info")?;
                let want = ObjectInfo {
                    id: oid.clone(),
                    class,
                    label: format!("label {key_id}"),
                    token: true,
                };
                check(
                    info == want,
                    &format!("object_info on member {i}: {info:?}"),
                )?;
            }
        }
        for i in 0..ms.len() {
            let k = find_one(&mut ms[i], ss[i], &oid, signing_class(kind))?;
            let sig = ok(ms[i].sign(ss[i], k, MSG), "sign")?;
            for j in 0..ms.len() {
                let v = find_one(&mut ms[j], ss[j], &oid, b.verifying_class(kind))?;
                let good = ok(b.verify(&mut ms[j], ss[j], v, MSG, &sig), "verify")?;
                check(
                    good,
                    &format!("{kind:?}: signature of member {i} fails on member {j}"),
                )?;
                let bad = ok(
                    b.verify(&mut ms[j], ss[j], v, b"another message", &sig),
                    "verify",
                )?;
                check(
                    !bad,
                    &format!("{kind:?}: member {j} accepts a signature over other data"),
                )?;
            }
            if !kind.is_pair() {
                let ct = ok(ms[i].encrypt(ss[i], k, MSG), "encrypt")?;
                for j in 0..ms.len() {
                    let kj = find_one(&mut ms[j], ss[j], &oid, ObjectClass::SecretKey)?;
                    let pt = ok(b.decrypt(&mut ms[j], ss[j], kj, &ct), "decrypt")?;
                    check(
                        pt == MSG,
                        &format!("{kind:?}: member {j} decrypts member {i}'s ciphertext wrongly"),
                    )?;
                }
            }
        }
    }
    let data = DataObjectRequest {
        id: id("conf-data"),
        label: "data".into(),
        value: b"payload".to_vec(),
        token: true,
    };
    ok(ms[0].create_data(ss[0], &data), "create_data")?;
    replicate(&mut ms, &ss, &data.id, &[ObjectClass::Data])?;
    for (i, m) in ms.iter_mut().enumerate() {
        // 1 + 1 secret keys, 2 + 2 pair halves, 1 data object; the domain keys are not counted.
        check(
            count(m)? == 7,
            &format!("member {i} counts {} objects, not 7", count(m)?),
        )?;
    }
    Ok(())
}

/// A replica has the same key check value as its original; a key generated separately under
/// the same `CKA_ID` does not, and does not verify the original's MAC.
fn check_value_tells_replicas_from_fresh_keys<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(2)?;
    let ss = login_all(b, &mut ms)?;
    let oid = id("kcv-1");
    let k0 = ok(
        ms[0].generate_key(ss[0], &keygen(KeyKind::Aes256, "kcv-1", true)),
        "generate",
    )?[0];
    replicate(&mut ms, &ss, &oid, &[ObjectClass::SecretKey])?;
    let k1 = find_one(&mut ms[1], ss[1], &oid, ObjectClass::SecretKey)?;
    let (m0, m1) = two(&mut ms, 0, 1);
    let kcv0 = ok(b.check_value(m0, ss[0], k0), "check value")?;
    let kcv1 = ok(b.check_value(m1, ss[1], k1), "check value")?;
    check(
        kcv0 == kcv1,
        "a replica's check value differs from the original's",
    )?;
    let mac = ok(m0.sign(ss[0], k0, MSG), "sign")?;
    check(
        ok(b.verify(m1, ss[1], k1, MSG, &mac), "verify")?,
        "replica rejects the MAC",
    )?;

    ok(m1.destroy_object(ss[1], k1), "destroy replica")?;
    let fresh = ok(
        m1.generate_key(ss[1], &keygen(KeyKind::Aes256, "kcv-1", true)),
        "generate",
    )?[0];
    let kcv_fresh = ok(b.check_value(m1, ss[1], fresh), "check value")?;
    check(
        kcv_fresh != kcv0,
        "a fresh key under the same CKA_ID passes the check value",
    )?;
    let accepted = ok(b.verify(m1, ss[1], fresh, MSG, &mac), "verify")?;
    check(
        !accepted,
        "a fresh key under the same CKA_ID verifies the original's MAC",
    )
}

/// `C_SignInit/Update/Final` gives a signature over the concatenation that verifies on
/// another member (equal to the single-part one where the mechanism is deterministic), and
/// the operation's state errors.
fn multipart_sign_matches_single_part<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(2)?;
    let ss = login_all(b, &mut ms)?;
    for kind in [KeyKind::Aes128, KeyKind::EcP256] {
        let key_id = format!("mp-{kind:?}");
        let oid = id(&key_id);
        ok(
            ms[0].generate_key(ss[0], &keygen(kind, &key_id, true)),
            "generate",
        )?;
        replicate(&mut ms, &ss, &oid, &classes(kind))?;
        let k0 = find_one(&mut ms[0], ss[0], &oid, signing_class(kind))?;
        let m0 = &mut ms[0];
        expect_err(
            m0.sign_update(ss[0], b"x"),
            Ckr::CKR_OPERATION_NOT_INITIALIZED,
            "update before init",
        )?;
        ok(m0.sign_init(ss[0], k0), "sign_init")?;
        expect_err(
            m0.sign_init(ss[0], k0),
            Ckr::CKR_OPERATION_ACTIVE,
            "second sign_init",
        )?;
        for part in MSG.chunks(7) {
            ok(m0.sign_update(ss[0], part), "sign_update")?;
        }
        let sig = ok(m0.sign_final(ss[0]), "sign_final")?;
        expect_err(
            m0.sign_final(ss[0]),
            Ckr::CKR_OPERATION_NOT_INITIALIZED,
            "second sign_final",
        )?;
        if !kind.is_pair() {
            let single = ok(m0.sign(ss[0], k0, MSG), "sign")?;
            check(
                single == sig,
                "multi-part AES signature differs from single-part",
            )?;
        }
        let v1 = find_one(&mut ms[1], ss[1], &oid, b.verifying_class(kind))?;
        check(
            ok(b.verify(&mut ms[1], ss[1], v1, MSG, &sig), "verify")?,
            "multi-part signature fails on the other member",
        )?;
        if kind.is_pair() {
            let public = find_one(&mut ms[0], ss[0], &oid, ObjectClass::PublicKey)?;
            expect_err(
                ms[0].sign_init(ss[0], public),
                Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED,
                "sign_init with a public key",
            )?;
        }
    }
    Ok(())
}

/// Token and session objects are found by id, class and token flag, described, counted
/// (token objects only, setup objects never) and destroyed.
fn objects_are_found_described_counted_destroyed<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(1)?;
    let ss = login_all(b, &mut ms)?;
    let (m, s) = (&mut ms[0], ss[0]);
    check(count(m)? == 0, "a fresh member counts objects")?;
    check(
        ok(m.find_objects(s, &ObjectQuery::default()), "find all")?.is_empty(),
        "a fresh member lists objects",
    )?;
    let d1 = ok(
        m.create_data(
            s,
            &DataObjectRequest {
                id: id("d1"),
                label: "one".into(),
                value: vec![1],
                token: true,
            },
        ),
        "create_data",
    )?;
    ok(
        m.create_data(
            s,
            &DataObjectRequest {
                id: id("d2"),
                label: "two".into(),
                value: vec![2],
                token: false,
            },
        ),
        "create_data",
    )?;
    ok(
        m.generate_key(s, &keygen(KeyKind::Aes128, "k1", true)),
        "generate",
    )?;
    check(
        count(m)? == 2,
        &format!("counted {} token objects, not 2", count(m)?),
    )?;
    let all = ok(m.find_objects(s, &ObjectQuery::default()), "find all")?;
    check(
        all.len() == 3,
        &format!("find with no template gives {} objects, not 3", all.len()),
    )?;
    let data = ok(
        m.find_objects(
            s,
            &ObjectQuery {
                class: Some(ObjectClass::Data),
                ..ObjectQuery::default()
            },
        ),
        "find data",
    )?;
    check(data.len() == 2, "find by class")?;
    let token_data = ok(
        m.find_objects(
            s,
            &ObjectQuery {
                class: Some(ObjectClass::Data),
                token: Some(true),
                id: None,
                label: None,
            },
        ),
        "find token data",
    )?;
    check(token_data == vec![d1], "find by class and token flag")?;
    let by_label = |label: &str, id: Option<ObjectId>| ObjectQuery {
        label: Some(label.into()),
        id,
        ..ObjectQuery::default()
    };
    let labelled = ok(m.find_objects(s, &by_label("one", None)), "find by label")?;
    check(labelled == vec![d1], "find by label")?;
    check(
        ok(
            m.find_objects(s, &by_label("one", Some(id("k1")))),
            "find by label and id",
        )?
        .is_empty(),
        "find by label and another object's id",
    )?;
    let info = ok(m.object_info(s, d1), "object_info")?;
    check(
        info == ObjectInfo {
            id: id("d1"),
            class: ObjectClass::Data,
            label: "one".into(),
            token: true,
        },
        &format!("object_info {info:?}"),
    )?;
    ok(m.destroy_object(s, d1), "destroy")?;
    check(count(m)? == 1, "count after destroy")?;
    check(
        ok(
            m.find_objects(
                s,
                &ObjectQuery {
                    id: Some(id("d1")),
                    ..ObjectQuery::default()
                },
            ),
            "find",
        )?
        .is_empty(),
        "destroyed object still found",
    )?;
    expect_err(
        m.object_info(s, d1),
        Ckr::CKR_OBJECT_HANDLE_INVALID,
        "object_info of a destroyed object",
    )
}

/// Login state, handle reissue and session errors, with the codes the engine relies on.
fn login_and_session_errors<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(1)?;
    let m = &mut ms[0];
    let s = ok(m.open_session(), "open")?;
    expect_err(
        m.login(s, &Secret::new("wrong-pin")),
        Ckr::CKR_PIN_INCORRECT,
        "wrong PIN",
    )?;
    expect_err(
        m.generate_key(s, &keygen(KeyKind::EcP256, "e", true)),
        Ckr::CKR_USER_NOT_LOGGED_IN,
        "generate before login",
    )?;
    ok(
        m.create_data(
            s,
            &DataObjectRequest {
                id: id("pub"),
                label: "p".into(),
                value: vec![],
                token: true,
            },
        ),
        "create_data needs no login",
    )?;
    ok(m.login(s, &b.pin()), "login")?;
    expect_err(
        m.login(s, &b.pin()),
        Ckr::CKR_USER_ALREADY_LOGGED_IN,
        "second login",
    )?;
    let s2 = ok(m.open_session(), "open")?;
    expect_err(
        m.login(s2, &b.pin()),
        Ckr::CKR_USER_ALREADY_LOGGED_IN,
        "login on a second session",
    )?;
    let pair = ok(
        m.generate_key(s, &keygen(KeyKind::EcP256, "e", true)),
        "generate",
    )?;
    expect_err(
        m.sign(s, pair[1], MSG),
        Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED,
        "sign with a public key",
    )?;
    expect_err(
        m.encrypt(s, pair[0], MSG),
        Ckr::CKR_KEY_TYPE_INCONSISTENT,
        "encrypt with an EC key",
    )?;
    ok(m.sign(s2, pair[0], MSG), "sign on the second session")?;
    ok(m.logout(s), "logout")?;
    expect_err(m.logout(s), Ckr::CKR_USER_NOT_LOGGED_IN, "second logout")?;
    expect_err(
        m.sign(s2, pair[0], MSG),
        Ckr::CKR_USER_NOT_LOGGED_IN,
        "sign after logout",
    )?;
    ok(m.login(s, &b.pin()), "login again")?;
    expect_err(
        m.sign(s, pair[0], MSG),
        Ckr::CKR_OBJECT_HANDLE_INVALID,
        "a handle from before the logout",
    )?;
    let k = find_one(m, s, &id("e"), ObjectClass::PrivateKey)?;
    ok(m.sign(s, k, MSG), "sign with the handle found again")?;
    ok(m.close_session(s), "close")?;
    expect_err(
        m.sign(s, k, MSG),
        Ckr::CKR_SESSION_HANDLE_INVALID,
        "sign on a closed session",
    )?;
    expect_err(
        m.close_session(s),
        Ckr::CKR_SESSION_HANDLE_INVALID,
        "close twice",
    )?;
    ok(m.sign(s2, k, MSG), "the other session still signs")?;
    ok(m.close_all_sessions(), "close_all_sessions")?;
    expect_err(
        m.sign(s2, k, MSG),
        Ckr::CKR_SESSION_HANDLE_INVALID,
        "sign after close_all_sessions",
    )?;
    let s3 = ok(m.open_session(), "open")?;
    expect_err(
        m.sign(s3, k, MSG),
        Ckr::CKR_USER_NOT_LOGGED_IN,
        "close_all_sessions logs out",
    )?;
    ok(m.login(s3, &b.pin()), "login")?;
    ok(m.close_session(s3), "close the last session")?;
    let s4 = ok(m.open_session(), "open")?;
    let k = find_one(m, s4, &id("pub"), ObjectClass::Data)?;
    expect_err(
        m.sign(s4, k, MSG),
        Ckr::CKR_USER_NOT_LOGGED_IN,
        "closing the last session logs out",
    )
}

/// Blobs open only in their own domain, intact.
fn clones_stay_in_their_domain<B: Backend>(b: &mut B) -> CaseResult {
    let mut home = b.domain(2)?;
    let mut away = b.domain(1)?;
    let hs = login_all(b, &mut home)?;
    let aw = login_all(b, &mut away)?;
    let key = ok(
        home[0].generate_key(hs[0], &keygen(KeyKind::Aes256, "dom-key", true)),
        "generate",
    )?[0];
    let data = ok(
        home[0].create_data(
            hs[0],
            &DataObjectRequest {
                id: id("dom-data"),
                label: "d".into(),
                value: vec![7; 9],
                token: true,
            },
        ),
        "create_data",
    )?;
    for (what, h) in [("key", key), ("data object", data)] {
        let blob = ok(home[0].export_clone(hs[0], h), "export_clone")?;
        expect_err(
            away[0].import_clone(aw[0], &blob),
            Ckr::CKR_WRAPPED_KEY_INVALID,
            &format!("{what} blob in another domain"),
        )?;
        let mut tampered = blob.clone();
        let mid = tampered.0.len() / 2;
        tampered.0[mid] ^= 0x01;
        expect_err(
            home[1].import_clone(hs[1], &tampered),
            Ckr::CKR_WRAPPED_KEY_INVALID,
            &format!("tampered {what} blob"),
        )?;
        ok(
            home[1].import_clone(hs[1], &blob),
            "import in the home domain",
        )?;
    }
    expect_err(
        home[1].import_clone(hs[1], &ha_engine::ports::CloneBlob(b"junk".to_vec())),
        Ckr::CKR_WRAPPED_KEY_INVALID,
        "junk blob",
    )?;
    check(count(&mut away[0])? == 0, "the foreign member got objects")?;
    check(
        count(&mut home[1])? == 2,
        "the home member lacks its copies",
    )
}

/// A session object clones as a session object, is not counted, and dies with its session.
fn session_objects_replicate_uncounted<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(2)?;
    let ss = login_all(b, &mut ms)?;
    let oid = id("sess-key");
    ok(
        ms[0].generate_key(ss[0], &keygen(KeyKind::Aes128, "sess-key", false)),
        "generate",
    )?;
    replicate(&mut ms, &ss, &oid, &[ObjectClass::SecretKey])?;
    let copy = find_one(&mut ms[1], ss[1], &oid, ObjectClass::SecretKey)?;
    let info = ok(ms[1].object_info(ss[1], copy), "object_info")?;
    check(
        !info.token,
        "the copy of a session object is a token object",
    )?;
    for (i, m) in ms.iter_mut().enumerate() {
        check(
            count(m)? == 0,
            &format!("member {i} counts a session object"),
        )?;
    }
    let keeper = ok(ms[1].open_session(), "open")?;
    ok(ms[1].close_session(ss[1]), "close")?;
    let found = ok(
        ms[1].find_objects(
            keeper,
            &ObjectQuery {
                id: Some(oid),
                ..ObjectQuery::default()
            },
        ),
        "find",
    )?;
    check(found.is_empty(), "a session object outlived its session")
}

/// A key the member cannot export is refused with `CKR_KEY_UNEXTRACTABLE`.
fn unreplicable_key_is_refused<B: Backend>(b: &mut B) -> CaseResult {
    let mut ms = b.domain(1)?;
    let ss = login_all(b, &mut ms)?;
    let h = ok(
        b.unreplicable_key(&mut ms[0], ss[0], &id("stuck")),
        "make the key",
    )?;
    expect_err(
        ms[0].export_clone(ss[0], h),
        Ckr::CKR_KEY_UNEXTRACTABLE,
        "export of an unextractable key",
    )
}

// ----- SoftHSM ------------------------------------------------------------------------------

/// Fresh SoftHSM tokens per domain (one module instance per member); the labs live as long
/// as the backend.
pub struct SoftHsmBackend {
    parent: PathBuf,
    pin: String,
    labs: Vec<SoftHsmLab>,
}

impl SoftHsmBackend {
    /// Labs go under `parent`; every token gets user PIN `pin`.
    pub fn new(parent: impl Into<PathBuf>, pin: &str) -> Self {
        SoftHsmBackend {
            parent: parent.into(),
            pin: pin.to_string(),
            labs: Vec::new(),
        }
    }
}

impl Backend for SoftHsmBackend {
    type M = Pkcs11Member;

    fn pin(&self) -> Secret {
        Secret::new(self.pin.clone())
    }

    fn domain(&mut self, n: usize) -> Result<Vec<Pkcs11Member>, String> {
        let d = self.labs.len();
        let labels: Vec<String> = (0..n).map(|i| format!("d{d}-m{i}")).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let spec = LabSpec::new(&self.parent, &labels, "so-test-pin", &self.pin);
        let (lab, members) = SoftHsmLab::create(&spec).map_err(|e| e.to_string())?;
        self.labs.push(lab);
        Ok(members)
    }

    fn verifying_class(&self, kind: KeyKind) -> ObjectClass {
        if kind.is_pair() {
            ObjectClass::PublicKey
        } else {
            ObjectClass::SecretKey
        }
    }

    fn verify(
        &mut self,
        m: &mut Pkcs11Member,
        s: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
        sig: &[u8],
    ) -> MemberResult<bool> {
        m.verify(s, key, data, sig)
    }

    fn decrypt(
        &mut self,
        m: &mut Pkcs11Member,
        s: SessionHandle,
        key: ObjectHandle,
        ct: &[u8],
    ) -> MemberResult<Vec<u8>> {
        m.decrypt(s, key, ct)
    }

    fn check_value(
        &mut self,
        m: &mut Pkcs11Member,
        s: SessionHandle,
        key: ObjectHandle,
    ) -> MemberResult<Vec<u8>> {
        m.key_check_value(s, key).map(|v| v.to_vec())
    }

    fn unreplicable_key(
        &mut self,
        m: &mut Pkcs11Member,
        s: SessionHandle,
        id: &ObjectId,
    ) -> MemberResult<ObjectHandle> {
        m.generate_unextractable_aes(s, id, "unreplicable")
    }
}
