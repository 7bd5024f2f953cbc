//! `pkcs11-member-selftest`: runs this crate's SoftHSM checks in a process of their own, so
//! that `SOFTHSM2_CONF` is set by the parent for the whole process (no environment change in
//! a multi-threaded test binary). Used by `tests/softhsm.rs`; handy by hand:
//!
//! ```text
//! SOFTHSM2_CONF=/tmp/x/softhsm2.conf pkcs11-member-selftest conformance [CASE...]
//! SOFTHSM2_CONF=... pkcs11-member-selftest lifecycle
//! SOFTHSM2_CONF=... pkcs11-member-selftest witness DIR     (tokens kept in DIR)
//! ```
//!
//! Labs go under `HASIM_LAB_DIR` (default: the system temp directory). Test tokens use the
//! user PIN `HASIM_TEST_PIN` (default `1234`), never printed.

use std::path::PathBuf;
use std::process::ExitCode;

use ha_engine::ports::{
    DataObjectRequest, KeyGenRequest, KeyKind, Member, ObjectClass, ObjectId, ObjectQuery, Secret,
};
use pkcs11_member::conformance::{self, SoftHsmBackend};
use pkcs11_member::softhsm::{LabSpec, Layout, SoftHsmLab};
use pkcs11_member::{Attachment, Pkcs11Member};

fn lab_parent() -> PathBuf {
    std::env::var_os("HASIM_LAB_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn pin() -> String {
    std::env::var("HASIM_TEST_PIN").unwrap_or_else(|_| "1234".to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("conformance") => run_conformance(&args[1..]),
        Some("lifecycle") => lifecycle(),
        Some("witness") => match args.get(1) {
            Some(dir) => witness(PathBuf::from(dir)),
            None => Err("witness needs a directory".to_string()),
        },
        _ => Err(
            "usage: pkcs11-member-selftest conformance [CASE...] | lifecycle | witness DIR"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_conformance(only: &[String]) -> Result<(), String> {
    let mut failed = 0;
    let mut ran = 0;
    for case in conformance::cases::<SoftHsmBackend>() {
        if !only.is_empty() && !only.iter().any(|o| o == case.name) {
            continue;
        }
        ran += 1;
        let mut backend = SoftHsmBackend::new(lab_parent(), &pin());
        match (case.run)(&mut backend) {
            Ok(()) => println!("case {} ok", case.name),
            Err(e) => {
                failed += 1;
                println!("case {} FAILED: {e}", case.name);
            }
        }
    }
    if ran == 0 {
        return Err(format!("no case named {only:?}"));
    }
    if failed > 0 {
        Err(format!("{failed} case(s) failed"))
    } else {
        Ok(())
    }
}

fn ck<T>(r: Result<T, ha_engine::ckr::Ckr>, what: &str) -> Result<T, String> {
    r.map_err(|ckr| format!("{what}: {ckr}"))
}

fn keygen(kind: KeyKind, id: &str) -> KeyGenRequest {
    KeyGenRequest {
        kind,
        id: ObjectId(id.as_bytes().to_vec()),
        label: id.to_string(),
        token: true,
    }
}

fn find(m: &mut Pkcs11Member, s: u64, id: &str, class: ObjectClass) -> Result<u64, String> {
    let q = ObjectQuery {
        id: Some(ObjectId(id.as_bytes().to_vec())),
        class: Some(class),
        token: None,
        label: None,
    };
    ck(m.find_objects(s, &q), "find")?
        .first()
        .copied()
        .ok_or(format!("{id} not found on {}", m.serial()))
}

/// A real re-initialise of one member leaves the others working (per-member instances), and a
/// restart of a member of a shared instance closes only its sessions.
fn lifecycle() -> Result<(), String> {
    let pin = Secret::new(pin());
    for layout in [Layout::PerMember, Layout::Shared] {
        let mut spec = LabSpec::new(
            lab_parent(),
            &["life-a", "life-b"],
            "so-test-pin",
            pin.expose(),
        );
        spec.layout = layout;
        let (_lab, mut ms) = SoftHsmLab::create(&spec).map_err(|e| e.to_string())?;
        match (&ms[0].library().is_softhsm_instance(), layout) {
            (true, _) => {}
            (false, _) => return Err("lab member is not a SoftHSM instance".into()),
        }
        let exclusive = ms.iter().all(|m| matches!(m_attachment(m), "exclusive"));
        if exclusive != (layout == Layout::PerMember) {
            return Err(format!("{layout:?}: wrong attachment"));
        }
        let sa = ck(ms[0].open_session(), "open")?;
        ck(ms[0].login(sa, &pin), "login")?;
        let sb = ck(ms[1].open_session(), "open")?;
        ck(ms[1].login(sb, &pin), "login")?;
        let key = ck(
            ms[0].generate_key(sa, &keygen(KeyKind::EcP256, "life-key")),
            "generate",
        )?;
        let (a, b) = ms.split_at_mut(1);
        let (a, b) = (&mut a[0], &mut b[0]);
        for h in &key {
            let blob = ck(a.export_clone(sa, *h), "export")?;
            ck(b.import_clone(sb, &blob), "import")?;
        }
        let kb = find(b, sb, "life-key", ObjectClass::PrivateKey)?;
        ck(b.sign(sb, kb, b"before"), "sign on b before")?;

        a.restore()
            .map_err(|e| format!("{layout:?}: restore: {e}"))?;
        // The other member is untouched: same session, same handle.
        ck(
            b.sign(sb, kb, b"while a restarts"),
            &format!("{layout:?}: b signs after a's restart"),
        )?;
        // The restarted member's old session and handles are gone.
        match a.sign(sa, key[0], b"old") {
            Err(ha_engine::ckr::Ckr::CKR_SESSION_HANDLE_INVALID) => {}
            other => return Err(format!("{layout:?}: old session after restart: {other:?}")),
        }
        let sa2 = ck(a.open_session(), "open after restart")?;
        match a.sign(sa2, key[0], b"old handle") {
            Err(
                ha_engine::ckr::Ckr::CKR_USER_NOT_LOGGED_IN
                | ha_engine::ckr::Ckr::CKR_OBJECT_HANDLE_INVALID,
            ) => {}
            other => return Err(format!("{layout:?}: old handle after restart: {other:?}")),
        }
        ck(a.login(sa2, &pin), "login after restart")?;
        let ka = find(a, sa2, "life-key", ObjectClass::PrivateKey)?;
        let sig = ck(a.sign(sa2, ka, b"after"), "sign after restart")?;
        let pb = find(b, sb, "life-key", ObjectClass::PublicKey)?;
        if !ck(b.verify(sb, pb, b"after", &sig), "verify")? {
            return Err(format!(
                "{layout:?}: b rejects a's signature after the restart"
            ));
        }
        println!("lifecycle {layout:?} ok");
    }
    Ok(())
}

fn m_attachment(m: &Pkcs11Member) -> &'static str {
    match m.attachment() {
        Attachment::Exclusive(_) => "exclusive",
        Attachment::Shared(_) => "shared",
    }
}

/// Three tokens kept in `dir` (token directories included); keys and a data object created on the first and replicated to
/// the others through export/import. Prints, per token: `token <label> <serial> <module>
/// <conf> <count>`, then `id <hex>` per replicated key id.
fn witness(dir: PathBuf) -> Result<(), String> {
    let pin = Secret::new(pin());
    let mut spec = LabSpec::new(
        &dir,
        &["witness-1", "witness-2", "witness-3"],
        "so-test-pin",
        pin.expose(),
    );
    // Kept tokens stay inside DIR (not on /dev/shm), so removing DIR removes everything.
    spec.tmpfs = false;
    let (mut lab, mut ms) = SoftHsmLab::create(&spec).map_err(|e| e.to_string())?;
    lab.keep();
    let mut ss = Vec::new();
    for m in ms.iter_mut() {
        let s = ck(m.open_session(), "open")?;
        ck(m.login(s, &pin), "login")?;
        ss.push(s);
    }
    let mut made = Vec::new();
    for (kind, id) in [
        (KeyKind::Aes256, "witness-aes"),
        (KeyKind::EcP256, "witness-ec"),
        (KeyKind::Rsa2048, "witness-rsa"),
    ] {
        let hs = ck(ms[0].generate_key(ss[0], &keygen(kind, id)), "generate")?;
        made.extend(hs);
        println!("id {}", hex(id.as_bytes()));
    }
    let data = DataObjectRequest {
        id: ObjectId(b"witness-data".to_vec()),
        label: "witness-data".into(),
        value: b"v".to_vec(),
        token: true,
    };
    made.push(ck(ms[0].create_data(ss[0], &data), "create_data")?);
    for t in 1..ms.len() {
        let (src, dst) = ms.split_at_mut(t);
        for h in &made {
            let blob = ck(src[0].export_clone(ss[0], *h), "export")?;
            ck(dst[0].import_clone(ss[t], &blob), "import")?;
        }
    }
    for (i, token) in lab.tokens().iter().enumerate() {
        let count = ck(ms[i].token_info(), "token_info")?.object_count;
        println!(
            "token {} {} {} {} {count}",
            token.label,
            token.serial,
            token.module.display(),
            token.conf.display()
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
