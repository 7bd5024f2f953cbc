//! The faults seen in the field (D35, D64) on a real member: each of `Hang`, `LostAnswer`,
//! `Busy`, `IdleCut`, `DirectModify` and `DirectChange` applied by `sim`'s injector (or, for
//! the last two, the world) in front of a SoftHSM2 token, with one assertion per kind on what
//! the application sees (the answer through the injector) and what the member holds (read on
//! a connection of its own, below the injector).
//!
//! A SoftHSM module reads `SOFTHSM2_CONF` from the environment, which this multi-threaded test
//! binary never changes: each check runs in a child process (this binary again, with
//! `HASIM_FIELD_FAULT_CHILD=<kind>` and its own `SOFTHSM2_CONF`). Without the SoftHSM2 module
//! the checks report themselves ignored with the reason, unless `HASIM_REQUIRE_SOFTHSM=1`,
//! which makes that a failure (the shared set-up of `softhsm-fixture`).

use std::path::Path;

use ha_engine::Ckr;
use ha_engine::ports::{
    DataObjectRequest, Member, ObjectClass, ObjectId, ObjectQuery, Secret, SessionHandle, Timeouts,
};
use libtest_mimic::{Arguments, Failed, Trial};
use pkcs11_member::{LabSpec, Pkcs11Member, SoftHsmLab};
use sim::fault::injector::VirtualNow;
use sim::fault::{CallMeter, Fault, FaultControl, FaultyMember};

/// The environment variable that makes this binary run one check as a child.
const CHILD: &str = "HASIM_FIELD_FAULT_CHILD";

/// The fixture PIN of the throwaway tokens (a test credential, never a real one).
const PIN: &str = "hasim-field-fault-fixture";

type Check = fn(&Path) -> Result<(), String>;

/// The checks, by fault kind.
const CHECKS: [(&str, Check); 6] = [
    ("hang", hang),
    ("lost_answer", lost_answer),
    ("busy", busy),
    ("idle_cut", idle_cut),
    ("direct_modify", direct_modify),
    ("direct_change", direct_change),
];

/// A SoftHSM token with the application's connection behind a fault injector, and a witness:
/// a second module instance over the same token, below the injector.
struct Rig {
    _lab: SoftHsmLab,
    app: FaultyMember,
    control: FaultControl,
    meter: CallMeter,
    clock: VirtualNow,
    witness: Pkcs11Member,
    session: SessionHandle,
}

impl Rig {
    fn new(dir: &Path) -> Result<Rig, String> {
        let spec = LabSpec::new(dir.join("lab"), &["hasim0"], "hasim-field-fault-so", PIN);
        let (lab, mut members) = SoftHsmLab::create(&spec).map_err(|e| e.to_string())?;
        let inner = members.pop().ok_or("no member")?;
        let witness = lab
            .open_instance(0, "witness", Some(PIN.into()))
            .map_err(|e| e.to_string())?;
        let meter = CallMeter::default();
        let clock = VirtualNow::default();
        let (mut app, control) =
            FaultyMember::with_clock(Box::new(inner), meter.clone(), clock.clone());
        let session = app.open_session().map_err(|c| c.name().to_string())?;
        app.login(session, &Secret::new(PIN))
            .map_err(|c| c.name().to_string())?;
        Ok(Rig {
            _lab: lab,
            app,
            control,
            meter,
            clock,
            witness,
            session,
        })
    }

    /// The application creates a token data object through the injector.
    fn create(&mut self, label: &str) -> Result<(), Ckr> {
        let request = data(label);
        self.app.create_data(self.session, &request).map(|_| ())
    }

    /// The token objects the member holds, counted below the injector.
    fn held(&mut self) -> Result<u64, String> {
        self.witness
            .token_info()
            .map(|i| i.object_count)
            .map_err(|c| c.name().to_string())
    }

    fn apply(&self, fault: Fault) -> Result<(), String> {
        self.control.apply(&fault).map_err(|e| e.to_string())
    }
}

fn data(label: &str) -> DataObjectRequest {
    DataObjectRequest {
        id: ObjectId(format!("id-{label}").into_bytes()),
        label: label.to_string(),
        value: label.as_bytes().to_vec(),
        token: true,
    }
}

fn expect<T: std::fmt::Debug + PartialEq>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

/// `Hang`: the application's call is never answered and ends at the receive timeout (20 s of
/// virtual time, a transport failure); the member executed nothing.
fn hang(dir: &Path) -> Result<(), String> {
    let mut rig = Rig::new(dir)?;
    rig.apply(Fault::Hang)?;
    let answer = rig.create("x");
    let waited = rig.meter.take();
    expect(
        "Hang: (application's answer, ms waited, objects on the member)",
        (answer, waited, rig.held()?),
        (
            Err(Ckr::CKR_DEVICE_ERROR),
            Timeouts::default().receive_ms,
            0,
        ),
    )
}

/// `LostAnswer`: the application's creation fails as a transport failure and the connection is
/// gone, but the member made the object (an orphan in waiting, D37).
fn lost_answer(dir: &Path) -> Result<(), String> {
    let mut rig = Rig::new(dir)?;
    rig.apply(Fault::LostAnswer)?;
    let answer = rig.create("x");
    expect(
        "LostAnswer: (application's answer, connection lost, objects on the member)",
        (answer, rig.control.is_disconnected(), rig.held()?),
        (Err(Ckr::CKR_DEVICE_ERROR), true, 1),
    )
}

/// `Busy`: until its instant the application gets `CKR_FUNCTION_FAILED` (no drop code) and
/// the member executes nothing; from then on the same call works.
fn busy(dir: &Path) -> Result<(), String> {
    let mut rig = Rig::new(dir)?;
    rig.clock.set(1_000);
    rig.apply(Fault::Busy { ms: 500 })?;
    rig.clock.set(1_499);
    let refused = rig.create("x");
    let held_busy = rig.held()?;
    rig.clock.set(1_500);
    let later = rig.create("x");
    expect(
        "Busy: (answer while busy, connection lost, objects then, answer after, objects after)",
        (
            refused,
            rig.control.is_disconnected(),
            held_busy,
            later,
            rig.held()?,
        ),
        (Err(Ckr::CKR_FUNCTION_FAILED), false, 0, Ok(()), 1),
    )
}

/// `IdleCut`: after the idle period the application's next call finds the connection cut
/// (its session dead, nothing executed); a reconnect (a new session, a login) works and the
/// member then makes the object.
fn idle_cut(dir: &Path) -> Result<(), String> {
    let mut rig = Rig::new(dir)?;
    rig.apply(Fault::IdleCut { ms: 100 })?;
    rig.clock.set(99);
    let fresh = rig.create("a");
    rig.clock.set(250);
    let cut = rig.create("b");
    let dead = rig.create("b");
    let held_cut = rig.held()?;
    let session = rig.app.open_session().map_err(|c| c.name().to_string())?;
    rig.app
        .login(session, &Secret::new(PIN))
        .map_err(|c| c.name().to_string())?;
    rig.session = session;
    let again = rig.create("b");
    expect(
        "IdleCut: (before the period, found, old session, objects then, after a reconnect, objects after)",
        (fresh, cut, dead, held_cut, again, rig.held()?),
        (
            Ok(()),
            Err(Ckr::CKR_DEVICE_ERROR),
            Err(Ckr::CKR_DEVICE_ERROR),
            1,
            Ok(()),
            2,
        ),
    )
}

/// A world over two SoftHSM tokens (the SoftHSM backend of `hasim run`), its injectors in front
/// of both.
fn world(dir: &Path) -> Result<sim::world::World, String> {
    let text = r#"Scenario(
        version: 1,
        name: "field faults on SoftHSM",
        credentials: (co: "hasim-field-fault-fixture"),
        partitions: [(serial: 11, label: "par0"), (serial: 22, label: "par1")],
        expect: [Log("x"), ObjectCounts({11: 0})],
    )"#;
    let scenario =
        harness::scenario::parse_str(text, "field-faults.ron").map_err(|e| e.to_string())?;
    let _ = dir;
    harness::backend::softhsm::build(&scenario, &harness::backend::SoftHsmOptions::default())
        .map(|b| b.world)
        .map_err(|e| e.to_string())
}

/// The token data objects a client sees through the injector of one member, by id.
fn ids_through_injector(member: &mut dyn Member) -> Result<Vec<String>, String> {
    let name = |c: Ckr| c.name().to_string();
    let s = member.open_session().map_err(name)?;
    let query = ObjectQuery {
        id: None,
        class: Some(ObjectClass::Data),
        token: Some(true),
        label: None,
    };
    let mut ids = Vec::new();
    for h in member.find_objects(s, &query).map_err(name)? {
        let info = member.object_info(s, h).map_err(name)?;
        ids.push(String::from_utf8_lossy(&info.id.0).into_owned());
    }
    member.close_session(s).map_err(name)?;
    ids.sort();
    Ok(ids)
}

/// `DirectModify`: another application makes an object on one member outside the group; a
/// client through that member's injector sees an id the group never made, the member holds one
/// object more, the other member nothing.
fn direct_modify(dir: &Path) -> Result<(), String> {
    let mut w = world(dir)?;
    w.apply(
        "22",
        &Fault::DirectModify {
            label: "foreign".into(),
        },
    )
    .map_err(|e| e.to_string())?;
    let mut clients = w.lunacm_members();
    let seen = ids_through_injector(clients.get_mut(1).ok_or("no member 22")?.as_mut())?;
    let counts: Vec<u64> = w.object_counts().into_values().collect();
    expect(
        "DirectModify: (ids seen through member 22's injector, objects held by 11 and 22)",
        (seen, counts),
        (vec!["direct-fault-0001".to_string()], vec![0, 1]),
    )
}

/// `DirectChange`: another application changes one member's copy of an object outside the
/// group; a client through the injector still finds the same id there (what `Needs sync`
/// compares), the members hold as many objects as before, and their fingerprints differ.
fn direct_change(dir: &Path) -> Result<(), String> {
    let mut w = world(dir)?;
    let name = |c: Ckr| c.name().to_string();
    for mut client in w.lunacm_members() {
        let s = client.open_session().map_err(name)?;
        client.create_data(s, &data("doc")).map_err(name)?;
        client.close_session(s).map_err(name)?;
    }
    let before: Vec<Option<String>> = w.fingerprints("doc").into_iter().map(|(_, f)| f).collect();
    w.apply(
        "22",
        &Fault::DirectChange {
            label: "doc".into(),
            value: "changed elsewhere".into(),
        },
    )
    .map_err(|e| e.to_string())?;
    let after: Vec<Option<String>> = w.fingerprints("doc").into_iter().map(|(_, f)| f).collect();
    let mut clients = w.lunacm_members();
    let seen = ids_through_injector(clients.get_mut(1).ok_or("no member 22")?.as_mut())?;
    let counts: Vec<u64> = w.object_counts().into_values().collect();
    let equal = |f: &[Option<String>]| f.len() == 2 && f[0].is_some() && f[0] == f[1];
    expect(
        "DirectChange: (ids seen through member 22's injector, objects held, copies equal before, after)",
        (seen, counts, equal(&before), equal(&after)),
        (vec!["id-doc".to_string()], vec![1, 1], true, false),
    )
}

/// Runs check `kind` in this process (the child side).
fn child(kind: &str) -> ! {
    let result = match (CHECKS.iter().find(|(k, _)| *k == kind), tempfile::tempdir()) {
        (Some((_, check)), Ok(dir)) => check(dir.path()),
        (None, _) => Err(format!("no check named {kind}")),
        (_, Err(e)) => Err(e.to_string()),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(why) => {
            eprintln!("{why}");
            std::process::exit(1)
        }
    }
}

/// Runs check `kind` in a child process with a fresh `SOFTHSM2_CONF`.
fn parent(kind: &'static str) -> Trial {
    softhsm_fixture::trial(format!("softhsm::field_fault::{kind}"), false, move |dir| {
        let out = softhsm_fixture::self_command(dir, CHILD, kind)?
            .env("TMPDIR", dir)
            .env_remove("RUST_LOG")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Failed::from(softhsm_fixture::text(&out)))
        }
    })
}

fn main() {
    if let Ok(kind) = std::env::var(CHILD) {
        child(&kind);
    }
    let args = Arguments::from_args();
    let trials = CHECKS.iter().map(|(kind, _)| parent(kind)).collect();
    libtest_mimic::run(&args, trials).exit();
}
