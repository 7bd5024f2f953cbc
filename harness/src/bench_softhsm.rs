//! `hasim bench --backend softhsm`: what the HA engine costs on real members (fresh SoftHSM2
//! tokens on tmpfs, one module instance per member), as ratios measured in one run:
//!
//! - **HA overhead**: ECDSA P-256 signs through the HA virtual slot of a one-member group,
//!   divided by the same signs made directly with cryptoki on the same token (`C_Digest` of
//!   the data, then `C_Sign` with `CKM_ECDSA`, as the member does). Target ≥ 0.97.
//! - **Load balancing**: two members, two OS application threads, each signing through
//!   `begin` / `Dispatch::call` / `complete` (the member call made outside the engine), divided
//!   by one member and one thread on the same path. Target ≥ 1.8 on 2 cores.
//! - **Replication cost**: one EC P-256 key generated through a three-member group (created on
//!   the primary, wrapped and unwrapped onto the two others) against one key pair generated
//!   directly on one token.
//!
//! The timer is the wall clock (a benchmark's one real need for it); nothing here reaches a
//! transcript.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use ha_engine::HaEngine;
use ha_engine::failover::{Completion, CryptoOp};
use ha_engine::ports::{KeyKind, Secret};
use ha_engine::state::{VObjectHandle, VSessionHandle};
use sim::world::World;

use crate::backend::SoftHsmOptions;
use crate::backend::softhsm::{Connections, build_with_connections};
use crate::bench::{BenchArgs, BenchError};
use crate::topology::build_lunacm;

const CO: &str = "bench-fixture-co";
const SERIALS: [&str; 3] = ["2000000001", "2000000002", "2000000003"];

fn fail(e: impl std::fmt::Display) -> BenchError {
    BenchError(e.to_string())
}

/// A world of `members` fresh tokens in one group, initialised.
fn group(members: usize) -> Result<(World, Connections), BenchError> {
    let mut partitions = String::new();
    let mut setup = format!(
        "\"hagroup creategroup -label bench -serialnumber {}\",",
        SERIALS[0]
    );
    for (i, serial) in SERIALS.iter().take(members).enumerate() {
        let _ = writeln!(
            partitions,
            "(serial: {serial}, label: \"par{i}\", domain: \"dom1\"),"
        );
        if i > 0 {
            let _ = write!(
                setup,
                "\"hagroup addmember -group bench -serialnumber {serial}\","
            );
        }
    }
    let text = format!(
        r#"Scenario(version: 1, name: "bench", credentials: (co: "{CO}"),
           partitions: [{partitions}], setup: [{setup}])"#
    );
    let scenario = crate::scenario::parse_generated(&text, "<bench>").map_err(fail)?;
    let (built, connections) =
        build_with_connections(&scenario, &SoftHsmOptions::default()).map_err(fail)?;
    let mut world = built.world;
    let mut lunacm = build_lunacm(&world);
    for line in &scenario.setup {
        let out = lunacm.execute(world.engine(), 0, line, Some(&Secret::new(CO)));
        out.result.map_err(|e| BenchError(format!("{line}: {e}")))?;
    }
    world.engine().initialize(0).map_err(fail)?;
    Ok((world, connections))
}

/// A logged-in virtual session.
fn session(engine: &mut HaEngine) -> Result<VSessionHandle, BenchError> {
    let vs = engine.open_session(0, 0).map_err(fail)?;
    match engine.login(0, vs, &Secret::new(CO)) {
        Ok(()) => Ok(vs),
        Err(e) if e.rv == ha_engine::Ckr::CKR_USER_ALREADY_LOGGED_IN => Ok(vs),
        Err(e) => Err(fail(e)),
    }
}

fn ec_key(
    engine: &mut HaEngine,
    vs: VSessionHandle,
    label: &str,
) -> Result<VObjectHandle, BenchError> {
    let keys = engine
        .generate_key(0, vs, KeyKind::EcP256, label, true)
        .map_err(fail)?;
    keys.first()
        .copied()
        .ok_or_else(|| BenchError("no key handle".into()))
}

/// One sign through `begin` / `Dispatch::call` / `complete`, the engine locked only around
/// `begin` and `complete`.
fn sign_outside(
    engine: &Mutex<&mut HaEngine>,
    vs: VSessionHandle,
    key: VObjectHandle,
    data: &[u8],
) -> Result<(), BenchError> {
    let lock = || engine.lock().unwrap_or_else(|p| p.into_inner());
    let mut d = lock()
        .begin(0, vs, CryptoOp::Sign, key, data)
        .map_err(fail)?;
    loop {
        let r = d.call();
        match lock().complete(0, d, r) {
            Completion::Done(r) => return r.map(|_| ()).map_err(fail),
            Completion::Redispatch(next) => d = next,
        }
    }
}

/// `n` signs on each of `sessions`, one OS thread per session; returns the wall time.
#[allow(clippy::disallowed_methods)] // application threads and the benchmark's timer
fn threads_sign(
    engine: &mut HaEngine,
    sessions: &[VSessionHandle],
    key: VObjectHandle,
    n: u64,
) -> Result<Duration, BenchError> {
    let engine = Mutex::new(engine);
    let data = [0x5a_u8; 32];
    let started = std::time::Instant::now();
    let results: Vec<Result<(), BenchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = sessions
            .iter()
            .map(|vs| {
                let engine = &engine;
                s.spawn(move || -> Result<(), BenchError> {
                    for _ in 0..n {
                        sign_outside(engine, *vs, key, &data)?;
                    }
                    Ok(())
                })
            })
            .collect();
        join_all(handles)
    });
    let took = started.elapsed();
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(took)
}

/// A session of its own on the token behind `serial`'s connection (the same module instance,
/// already logged in by the engine), and the private key labelled `label`.
/// Waits for every thread of a scope, in order; a thread that panicked is an error.
fn join_all(
    handles: Vec<std::thread::ScopedJoinHandle<'_, Result<(), BenchError>>>,
) -> Vec<Result<(), BenchError>> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(BenchError("a thread panicked".into())))
        })
        .collect()
}

fn direct(
    connections: &Connections,
    serial: &str,
    label: &str,
) -> Result<(Session, Option<ObjectHandle>), BenchError> {
    let member = connections
        .get(serial)
        .ok_or_else(|| BenchError(format!("no connection to {serial}")))?;
    let m = member.lock().unwrap_or_else(|p| p.into_inner());
    let session = m.library().ctx().open_rw_session(m.slot()).map_err(fail)?;
    let found = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(fail)?;
    Ok((session, found.first().copied()))
}

/// Two threads signing directly on two tokens, divided by one thread on one token.
#[allow(clippy::disallowed_methods)] // application threads and the benchmark's timer
fn direct_scaling(connections: &Connections, n: u64) -> Result<f64, BenchError> {
    let data = [0x5a_u8; 32];
    let mut tokens = Vec::new();
    for serial in &SERIALS[..2] {
        let (session, key) = direct(connections, serial, "k")?;
        let key = key.ok_or_else(|| BenchError(format!("the key is not on {serial}")))?;
        tokens.push((session, key));
    }
    let sign = |(session, key): &(Session, ObjectHandle)| -> Result<(), BenchError> {
        for _ in 0..n {
            let digest = session.digest(&Mechanism::Sha256, &data).map_err(fail)?;
            session
                .sign(&Mechanism::Ecdsa, *key, &digest)
                .map_err(fail)?;
        }
        Ok(())
    };
    let started = std::time::Instant::now();
    sign(&tokens[0])?;
    let one = started.elapsed().as_secs_f64().max(1e-9);
    let started = std::time::Instant::now();
    // Sessions are Send but not Sync: each thread takes its own.
    let results: Vec<Result<(), BenchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = tokens
            .into_iter()
            .map(|t| s.spawn(move || sign(&t)))
            .collect();
        join_all(handles)
    });
    let two = started.elapsed().as_secs_f64().max(1e-9);
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok((2.0 * n as f64 / two) / (n as f64 / one))
}

/// Runs the three measurements and returns the report.
#[allow(clippy::disallowed_methods)] // a benchmark's timer is the one real need for the wall clock
pub fn run(args: &BenchArgs) -> Result<String, BenchError> {
    let n = args.real_signs.max(1);
    let data = [0x5a_u8; 32];
    let mut report = String::new();

    // 1. HA overhead, one member: alternate the two paths three times and sum.
    let (mut w1, conns1) = group(1)?;
    let vs = session(w1.engine())?;
    let key = ec_key(w1.engine(), vs, "k")?;
    let (direct_session, direct_key) = direct(&conns1, SERIALS[0], "k")?;
    let direct_key = direct_key.ok_or_else(|| BenchError("the key is not on the token".into()))?;
    let (mut ha, mut raw) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        let started = std::time::Instant::now();
        for _ in 0..n {
            w1.engine().sign(0, vs, key, &data).map_err(fail)?;
        }
        ha += started.elapsed();
        let started = std::time::Instant::now();
        for _ in 0..n {
            let digest = direct_session
                .digest(&Mechanism::Sha256, &data)
                .map_err(fail)?;
            direct_session
                .sign(&Mechanism::Ecdsa, direct_key, &digest)
                .map_err(fail)?;
        }
        raw += started.elapsed();
    }
    drop(direct_session);
    let rate = |ops: u64, d: Duration| ops as f64 / d.as_secs_f64().max(1e-9);
    let (ha_rate, raw_rate) = (rate(3 * n, ha), rate(3 * n, raw));
    let _ = writeln!(
        report,
        "HA overhead (ECDSA P-256, one member): HA virtual slot {ha_rate:.0} signs/s, direct cryptoki {raw_rate:.0} signs/s: ratio {:.3} (target >= 0.97)",
        ha_rate / raw_rate
    );

    // 2. Load balancing: one member one thread, then two members two threads.
    let one = threads_sign(w1.engine(), &[vs], key, n)?;
    drop(w1);
    let (mut w2, conns2) = group(2)?;
    let s1 = session(w2.engine())?;
    let s2 = session(w2.engine())?;
    let key2 = ec_key(w2.engine(), s1, "k")?;
    let two = threads_sign(w2.engine(), &[s1, s2], key2, n)?;
    let served: Vec<String> = SERIALS[..2]
        .iter()
        .map(|s| format!("{s} x{}", w2.served(s, sim::fault::CallKind::Sign)))
        .collect();
    let (one_rate, two_rate) = (rate(n, one), rate(2 * n, two));
    // What this machine gives two threads right now, without the engine: the same signs made
    // directly on the two tokens, one thread each, against one thread on one token.
    let machine = direct_scaling(&conns2, n)?;
    let _ = writeln!(
        report,
        "load balancing (ECDSA P-256, begin/call/complete): 1 member 1 thread {one_rate:.0} signs/s, 2 members 2 threads {two_rate:.0} signs/s [served by {}]: ratio {:.2} (target >= 1.8 on 2 cores; {} cores here; the same two threads signing directly with cryptoki, no engine: ratio {machine:.2})",
        served.join(", "),
        two_rate / one_rate,
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    drop(w2);

    // 3. Replication cost: EC P-256 keys through a three-member group against direct key
    // pairs on one token.
    let keys = 20;
    let (mut w3, conns3) = group(3)?;
    let vs3 = session(w3.engine())?;
    let started = std::time::Instant::now();
    for i in 0..keys {
        ec_key(w3.engine(), vs3, &format!("r{i}"))?;
    }
    let replicated = started.elapsed();
    let (s, _) = direct(&conns3, SERIALS[0], "none")?;
    let started = std::time::Instant::now();
    for i in 0..keys {
        let id = format!("bench-direct-{i}");
        s.generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &pkcs11_member::templates::ec_public_gen(true, id.as_bytes(), &id),
            &pkcs11_member::templates::private_key(KeyType::EC, true, id.as_bytes(), &id),
        )
        .map_err(fail)?;
    }
    let single = started.elapsed();
    drop(s);
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(keys);
    let _ = writeln!(
        report,
        "replication cost (EC P-256 key): 3-member group {:.2} ms per key, one token {:.2} ms per key: ratio {:.2}",
        per(replicated),
        per(single),
        replicated.as_secs_f64() / single.as_secs_f64().max(1e-9)
    );
    Ok(report)
}
