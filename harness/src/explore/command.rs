//! The `hasim explore` / `hasim replay` commands: arguments, progress, output.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::campaign::{self, Campaign, SeedResult, Shard, Verdict};
use super::shrink;

/// `hasim explore` arguments.
#[derive(Debug, clap::Args)]
pub struct ExploreArgs {
    /// How many seeds the campaign has.
    #[arg(long, default_value_t = 1000)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// OS threads running seeds.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Run only shard K of M (K from 0): the seeds whose offset from --start is K modulo M.
    #[arg(long)]
    pub shard: Option<String>,
    /// Write each seed's result as a JSON line to this file (sorted by seed).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Show a progress bar even when stderr is not a terminal.
    #[arg(long)]
    pub progress: bool,
}

/// `hasim replay` arguments.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The seed to replay.
    #[arg(long)]
    pub seed: u64,
    /// Minimise the failing scenario while the same invariant still fails.
    #[arg(long)]
    pub shrink: bool,
    /// Where `--shrink` writes the scenario (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the seed's run as a timeline (one self-contained HTML page).
    #[arg(long, value_name = "OUT.html")]
    pub timeline: Option<PathBuf>,
}

/// `hasim explore`.
pub fn explore(args: &ExploreArgs) -> ExitCode {
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(shard) => shard.unwrap_or(Shard::WHOLE),
        Err(e) => {
            eprintln!("hasim explore: {e}");
            return ExitCode::from(2);
        }
    };
    let campaign = Campaign {
        start: args.start,
        seeds: args.seeds,
        shard,
        jobs: args.jobs,
        planted: None,
    };
    let total = campaign.shard_seeds().len() as u64;
    let bar = progress_bar(total, args.progress);
    let failed = std::sync::atomic::AtomicU64::new(0);
    // Wall time is measured for the summary only; it never reaches a result line.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let done = std::sync::atomic::AtomicU64::new(0);
    let every = plain_progress_every(total);
    let tick = |r: &SeedResult| {
        if r.verdict == Verdict::Fail {
            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if bar.is_none() {
                // Off a terminal (a log, a cluster job), a failure is told when it is found.
                eprintln!("hasim explore: {}", r.failure_line());
            }
        }
        let failed = failed.load(std::sync::atomic::Ordering::Relaxed);
        match &bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{failed} failed"));
            }
            None => {
                let done = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if done.is_multiple_of(every) || done == total {
                    let secs = started.elapsed().as_secs_f64();
                    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                    eprintln!(
                        "hasim explore: {done}/{total} seeds, {failed} failed, {rate:.0} seeds/s"
                    );
                }
            }
        }
    };
    let results = match campaign.run(&tick) {
        Ok(results) => results,
        Err(e) => {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            eprintln!("hasim explore: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(path) = &args.out
        && let Err(e) = write_results(path, &campaign.header(), &results)
    {
        eprintln!("hasim explore: {}: {e}", path.display());
        return ExitCode::from(2);
    }
    report(&results);
    let rate = if elapsed > 0.0 {
        results.len() as f64 / elapsed
    } else {
        0.0
    };
    eprintln!(
        "{} seeds in {elapsed:.1} s ({rate:.0} seeds/s, {} jobs)",
        results.len(),
        campaign.jobs.max(1)
    );
    exit_of(&results)
}

/// `hasim explore merge FILES...`.
pub fn merge(files: &[PathBuf]) -> ExitCode {
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    match campaign::merge(&paths) {
        Ok(results) => {
            report(&results);
            exit_of(&results)
        }
        Err(e) => {
            eprintln!("hasim explore merge: {e}");
            ExitCode::from(2)
        }
    }
}

/// `hasim replay --seed S [--shrink [--out FILE]]`.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    let seed_run = match campaign::run_seed(args.seed) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hasim replay: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(out) = &args.timeline
        && let Err(e) = std::fs::write(out, crate::timeline::render(&seed_run.run))
    {
        eprintln!("hasim replay: {}: {e}", out.display());
        return ExitCode::from(2);
    }
    if !args.shrink {
        print!("{}", campaign::transcript(&seed_run));
        return match &seed_run.violation {
            None => ExitCode::SUCCESS,
            Some(v) => {
                println!("VIOLATION {}: {}", v.invariant, v.detail);
                ExitCode::from(1)
            }
        };
    }
    let Some(violation) = seed_run.violation.clone() else {
        eprintln!(
            "hasim replay: seed {} breaks no invariant; nothing to shrink",
            args.seed
        );
        return ExitCode::from(2);
    };
    let shrunk = shrink::shrink(seed_run.plan, &violation, None, &mut |steps| {
        eprintln!("shrinking: {steps} steps");
    });
    let text = shrink::regression_file(&shrunk.plan, &shrunk.violation, &shrunk.run);
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprintln!("hasim replay: {}: {e}", path.display());
                return ExitCode::from(2);
            }
            eprintln!(
                "wrote {} ({} steps, {} members; {} still fails)",
                path.display(),
                shrunk.plan.steps.len(),
                shrunk.plan.members.len(),
                shrunk.violation.invariant
            );
        }
        None => print!("{text}"),
    }
    ExitCode::from(1)
}

/// Off a terminal, a plain progress line every this many seeds: every 5% of the shard, but
/// no closer than 1,000 seeds apart (a short run prints one line, at its end).
fn plain_progress_every(total: u64) -> u64 {
    (total / 20).max(1000).min(total.max(1))
}

fn progress_bar(total: u64, forced: bool) -> Option<indicatif::ProgressBar> {
    if !forced && !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} seeds {per_sec} {msg} (eta {eta})",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

fn write_results(path: &Path, header: &str, results: &[SeedResult]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(file, "{header}")?;
    for r in results {
        writeln!(file, "{}", r.to_json())?;
    }
    file.flush()
}

fn report(results: &[SeedResult]) {
    for r in results.iter().filter(|r| r.verdict == Verdict::Fail) {
        println!("{}", r.failure_line());
    }
    println!("{}", campaign::summary(results));
}

fn exit_of(results: &[SeedResult]) -> ExitCode {
    if results.iter().any(|r| r.verdict == Verdict::Fail) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
