//! `hasim bench`: simulated HA sign operations per second on the model backend, two ways: the
//! scenario path (an `App(Sign(times: N))` step: event queue, fault injector, run record) and
//! the engine's single-threaded convenience path (`HaEngine::sign`, no time, no record); the
//! process's peak memory after them; and the time compression (virtual seconds per wall
//! second) of a long recovery campaign. Wall time is read here and only here; nothing of it
//! reaches a transcript.

use std::fmt::Write as _;

use ha_engine::ports::{KeyKind, Secret};
use ha_engine::state::{VObjectHandle, VSessionHandle};
use hsm_model::{HsmSpec, PartitionSpec};
use sim::clock::SimCalendar;
use sim::fault::Fault;
use sim::world::{World, WorldConfig};

use crate::topology::build_lunacm;

/// Options of `hasim bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Sign operations to time through the engine's convenience path.
    #[arg(long, default_value_t = 200_000)]
    pub signs: u64,
    /// Sign operations to time through the scenario path (one `App(Sign)` step).
    #[arg(long, default_value_t = 1_000_000)]
    pub scenario_signs: u32,
    /// Retry count of the recovery campaign (1..=500).
    #[arg(long, default_value_t = 500)]
    pub retries: u32,
    /// Recovery interval of the campaign, seconds (60..=1200).
    #[arg(long, default_value_t = 1200)]
    pub interval: u64,
    /// Generated exploration scenarios (200 operations each) to time.
    #[arg(long, default_value_t = 2_000)]
    pub explore_seeds: u64,
    /// OS threads for the exploration benchmark.
    #[arg(long, default_value_t = 2)]
    pub jobs: u32,
    /// `softhsm`: the real-member figures instead (HA overhead, load balancing, replication
    /// cost, on fresh SoftHSM2 tokens).
    #[arg(long, default_value = "model")]
    pub backend: String,
    /// With `--backend softhsm`: signs per measurement.
    #[arg(long, default_value_t = 4_000)]
    pub real_signs: u64,
}

impl BenchArgs {
    /// True when the SoftHSM figures are asked for.
    pub fn softhsm(&self) -> bool {
        self.backend == "softhsm"
    }
}

/// A benchmark that could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BenchError(pub String);

const CO: &str = "bench-fixture-co";

fn world() -> Result<World, BenchError> {
    let mut hsms = Vec::new();
    let mut partitions = Vec::new();
    for (i, serial) in ["1000000001", "1000000002"].iter().enumerate() {
        let hsm = format!("bench-hsm-{i}");
        hsms.push(HsmSpec::new(hsm.as_str()));
        partitions.push(PartitionSpec::new(
            *serial,
            format!("par{i}"),
            hsm,
            "dom1",
            CO,
        ));
    }
    let start = SimCalendar::default().start();
    World::new(WorldConfig {
        seed: 0,
        start,
        pid: 1,
        hsms,
        partitions,
    })
    .map_err(|e| BenchError(e.to_string()))
}

fn setup(world: &mut World, extra: &[String]) -> Result<(), BenchError> {
    let mut lines = vec![
        "hagroup creategroup -label bench -serialnumber 1000000001".to_string(),
        "hagroup addmember -group bench -serialnumber 1000000002".to_string(),
    ];
    lines.extend_from_slice(extra);
    let mut lunacm = build_lunacm(world);
    for line in lines {
        // LunaCM checks the CO credential at creategroup / addmember (B9).
        let out = lunacm.execute(world.engine(), 0, &line, Some(&Secret::new(CO)));
        if let Err(e) = out.result {
            return Err(BenchError(format!("{line}: {e}")));
        }
    }
    world
        .engine()
        .initialize(0)
        .map_err(|e| BenchError(e.to_string()))
}

/// Opens a session, logs in and generates the AES key the measurements sign with.
fn session_and_key(w: &mut World) -> Result<(VSessionHandle, VObjectHandle), BenchError> {
    let fail = |e: ha_engine::EngineError| BenchError(e.to_string());
    let vs = w.engine().open_session(0, 0).map_err(fail)?;
    w.engine().login(0, vs, &Secret::new(CO)).map_err(fail)?;
    let keys = w
        .engine()
        .generate_key(0, vs, KeyKind::Aes256, "k", true)
        .map_err(fail)?;
    let key = *keys
        .first()
        .ok_or_else(|| BenchError("no key handle".into()))?;
    Ok((vs, key))
}

/// Runs both measurements and returns the report.
#[allow(clippy::disallowed_methods)] // a benchmark's timer is the one real need for the wall clock
pub fn run(args: &BenchArgs) -> Result<String, BenchError> {
    if args.softhsm() {
        #[cfg(feature = "pkcs11")]
        return crate::bench_softhsm::run(args);
        #[cfg(not(feature = "pkcs11"))]
        return Err(BenchError(
            "this hasim was built without the pkcs11 feature".into(),
        ));
    }
    if args.backend != "model" {
        return Err(BenchError(format!(
            "unknown backend {:?} (model or softhsm)",
            args.backend
        )));
    }
    let fail = |e: ha_engine::EngineError| BenchError(e.to_string());
    let mut report = String::new();

    // 1. The scenario path: one App(Sign(times: N)) step, as `hasim run` runs it.
    let scenario = crate::scenario::parse_str(&scenario_text(args.scenario_signs), "<bench>")
        .map_err(|e| BenchError(e.to_string()))?;
    let started = std::time::Instant::now();
    let run = crate::runner::run(&scenario).map_err(|e| BenchError(e.to_string()))?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if let Some(why) = run.aborted() {
        return Err(BenchError(format!("the scenario path stopped: {why}")));
    }
    drop(run);
    let n = f64::from(args.scenario_signs);
    let _ = writeln!(
        report,
        "sign through the scenario path (App(Sign), event queue, injector, record; 2 members): {} ops in {:.3} s = {:.0} ops/s on one core",
        args.scenario_signs,
        secs,
        n / secs
    );
    let _ = writeln!(
        report,
        "peak memory (VmHWM) after the scenario path: {}",
        peak_rss().unwrap_or_else(|| "unknown (no /proc/self/status)".to_string())
    );

    // 2. The engine's single-threaded convenience path.
    let mut w = world()?;
    setup(&mut w, &[])?;
    let (vs, key) = session_and_key(&mut w)?;
    let data = [0x5a_u8; 32];
    let started = std::time::Instant::now();
    for _ in 0..args.signs {
        w.engine().sign(0, vs, key, &data).map_err(fail)?;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let _ = writeln!(
        report,
        "sign through the engine's convenience path (HaEngine::sign; 2 members): {} ops in {:.3} s = {:.0} ops/s on one core",
        args.signs,
        secs,
        args.signs as f64 / secs
    );

    // 3. Recovery campaign: a member that never comes back, every attempt failing.
    let mut w = world()?;
    setup(
        &mut w,
        &[
            format!("hagroup retry -count {}", args.retries),
            format!("hagroup interval -interval {}", args.interval),
        ],
    )?;
    let (vs, key) = session_and_key(&mut w)?;
    w.apply("1000000002", &Fault::Drop)
        .map_err(|e| BenchError(e.to_string()))?;
    // Two signs: round-robin reaches the dropped member and detects the drop (D19).
    for _ in 0..2 {
        w.engine().sign(0, vs, key, &data).map_err(fail)?;
    }
    let horizon_ms = (u64::from(args.retries) + 1)
        .saturating_mul(args.interval)
        .saturating_mul(1000);
    let started = std::time::Instant::now();
    sim::queue::advance_to(&mut w, horizon_ms, &mut |_| {})
        .map_err(|e| BenchError(e.to_string()))?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let virtual_s = horizon_ms as f64 / 1000.0;
    let _ = writeln!(
        report,
        "recovery campaign ({} retries x {} s): {:.0} virtual s in {:.6} wall s = {:.3e}x time compression",
        args.retries,
        args.interval,
        virtual_s,
        secs,
        virtual_s / secs
    );

    // 4. Exploration: generated scenarios of 200 operations, seeds per second.
    if args.explore_seeds > 0 {
        let (rate, failed) =
            crate::explore::campaign::throughput(args.explore_seeds, 200, args.jobs)
                .map_err(|e| BenchError(e.to_string()))?;
        let _ = writeln!(
            report,
            "exploration: {} generated scenarios of 200 operations on {} jobs: {rate:.0} seeds/s ({failed} broke an invariant); peak memory (VmHWM) {}",
            args.explore_seeds,
            args.jobs.max(1),
            peak_rss().unwrap_or_else(|| "unknown (no /proc/self/status)".to_string())
        );
    }
    Ok(report)
}

/// The scenario the scenario path runs: two members, one key, `signs` signatures.
fn scenario_text(signs: u32) -> String {
    format!(
        r#"Scenario(
    version: 1,
    name: "bench: signs through the scenario path",
    partitions: [
        (serial: 1000000001, label: "par0", domain: "dom1"),
        (serial: 1000000002, label: "par1", domain: "dom1"),
    ],
    setup: [
        "hagroup creategroup -label bench -serialnumber 1000000001",
        "hagroup addmember -group bench -serialnumber 1000000002",
        "hagroup halog -path /ha-logs",
    ],
    steps: [
        App(OpenSession), App(Login),
        App(GenerateKey(label: "k", kind: Aes256)),
        App(Sign(key: "k", times: {signs})),
    ],
    expect: [
        Log("Wed Oct  4 16:29:21 2017 : [17469] HA group: 11000000001 management thread started"),
        ObjectCounts({{1000000001: 1, 1000000002: 1}}),
        NoAppErrors,
    ],
)"#
    )
}

/// The process's peak resident set (`VmHWM` of `/proc/self/status`), as the kernel prints it.
fn peak_rss() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
}
