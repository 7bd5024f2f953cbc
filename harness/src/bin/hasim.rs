//! The `hasim` command line: run scenarios, check determinism, benchmark.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use harness::suite;

#[derive(Parser)]
#[command(
    name = "hasim",
    version,
    about = "Deterministic HSM high-availability failover simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario (prints its transcript) or every scenario under a folder (one line each
    /// and a summary). Exit 0: all passed; 1: an expectation failed; 2: a file is malformed.
    Run {
        /// A `.ron` scenario file or a folder of them.
        path: PathBuf,
        /// Also write the run's timeline (one self-contained HTML page) to this file; only
        /// with a single scenario file.
        #[arg(long, value_name = "OUT.html")]
        timeline: Option<PathBuf>,
    },
    /// Run a scenario twice and compare the transcripts byte for byte.
    CheckDeterminism {
        /// A `.ron` scenario file.
        path: PathBuf,
    },
    /// Run every scenario under a folder and report which HA log templates the engine emitted
    /// and which spec rules the scenarios name. Exit 0: every non-deprecated template and every
    /// required rule is covered; 1: something is uncovered; 2: a file is malformed.
    Coverage {
        /// A folder of `.ron` scenarios (or one file).
        path: PathBuf,
    },
    /// Replay a production incident: read a real HA log (haErrorLog.txt and its rotated files)
    /// and the client's Chrystoki.conf, write a scenario that makes hasim's engine meet what the
    /// log records, run it, and diff the predicted log against the real one. Exit 0: the
    /// prediction reproduces the log; 1: they differ; 2: the files cannot be read or the log
    /// holds several processes (choose one with --pid).
    Import {
        /// The client's Chrystoki.conf (or crystoki.ini).
        #[arg(long, value_name = "FILE")]
        conf: PathBuf,
        /// The directory holding haErrorLog.txt and its rotated files (the conf's haLogPath).
        #[arg(long, value_name = "DIR")]
        halog: PathBuf,
        /// The client process to import, when the log holds several.
        #[arg(long)]
        pid: Option<u32>,
        /// Write the scenario to this file.
        #[arg(long, value_name = "FILE.ron")]
        out: Option<PathBuf>,
    },
    /// Measure simulated sign throughput and recovery-campaign time compression.
    Bench(harness::bench::BenchArgs),
    /// Explore random scenarios from seeds and check the invariants: `hasim explore --seeds N
    /// [--start S] [--jobs J] [--shard K/M] [--out results.jsonl]`, or `hasim explore merge
    /// FILES...` to combine shard results. Exit 0: no violation; 1: a violation; 2: bad input.
    #[command(args_conflicts_with_subcommands = true)]
    Explore {
        #[command(subcommand)]
        merge: Option<ExploreSub>,
        #[command(flatten)]
        args: harness::explore::command::ExploreArgs,
    },
    /// Write a commented starter scenario that runs and passes as written (never overwrites).
    New {
        /// The `.ron` file to write.
        path: PathBuf,
        /// Members in the group (2..=32).
        #[arg(long, default_value_t = 2)]
        members: u32,
        /// How many of them (the last ones) are standby.
        #[arg(long, default_value_t = 0)]
        standby: u32,
    },
    /// Replay one exploration seed: its byte-identical transcript; with `--shrink`, a minimal
    /// scenario file that still breaks the same invariant.
    Replay(harness::explore::command::ReplayArgs),
    /// A LunaCM prompt over a scenario's topology: runs its `setup`, then reads command lines
    /// from stdin (`exit`, `quit` or end of input ends it). Exit 2: the file is malformed.
    Lunacm {
        /// A `.ron` scenario file.
        path: PathBuf,
    },
}

#[derive(Subcommand)]
enum ExploreSub {
    /// Combine result files (JSON lines) of a sharded campaign: summary and every failure.
    Merge {
        /// Result files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match cli.command {
        Command::Run { path, timeline } => run(&path, timeline.as_deref()),
        Command::CheckDeterminism { path } => check_determinism(&path),
        Command::Coverage { path } => coverage(&path),
        Command::Explore { merge, args } => match merge {
            Some(ExploreSub::Merge { files }) => harness::explore::command::merge(&files),
            None => harness::explore::command::explore(&args),
        },
        Command::Replay(args) => harness::explore::command::replay(&args),
        Command::New {
            path,
            members,
            standby,
        } => match harness::starter::write(&path, members, standby) {
            Ok(()) => {
                println!(
                    "wrote {}: run it with `hasim run {}`",
                    path.display(),
                    path.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hasim new: {e}");
                ExitCode::from(2)
            }
        },
        Command::Lunacm { path } => match harness::lunacm_prompt::run_file(&path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Import {
            conf,
            halog,
            pid,
            out,
        } => {
            let options = harness::import::Options {
                conf,
                halog,
                pid,
                out,
            };
            match harness::import::run(&options) {
                Ok(import) => {
                    print!("{}", import.report);
                    if import.agrees() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("hasim import: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Bench(args) => match harness::bench::run(&args) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("hasim bench: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// Tracing goes to stderr, without time, and only when `RUST_LOG` is set.
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(path: &Path, timeline: Option<&Path>) -> ExitCode {
    if path.is_file() {
        return run_one(path, timeline);
    }
    if timeline.is_some() {
        eprintln!("hasim run: --timeline needs one scenario file, not a folder");
        return ExitCode::from(2);
    }
    let files = match suite::discover(path) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("hasim run: {e}");
            return ExitCode::from(2);
        }
    };
    if files.is_empty() {
        eprintln!("hasim run: no .ron scenario files under {}", path.display());
        return ExitCode::from(2);
    }
    let (mut passed, mut failed, mut malformed) = (0, 0, 0);
    for file in &files {
        let name = suite::scenario_name(path, file);
        match suite::run_file(file) {
            Ok(outcome) if outcome.passed() => {
                passed += 1;
                println!("ok      {name}");
            }
            Ok(outcome) => {
                failed += 1;
                println!("FAILED  {name}");
                for f in &outcome.failures {
                    for line in f.lines() {
                        println!("        {line}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                malformed += 1;
                println!("ERROR   {name}");
                println!("        {e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if malformed > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_one(path: &Path, timeline: Option<&Path>) -> ExitCode {
    match suite::run_file(path) {
        Ok(outcome) => {
            if let Some(out) = timeline
                && let Err(e) = std::fs::write(out, harness::timeline::render(&outcome.record))
            {
                eprintln!("hasim run: cannot write {}: {e}", out.display());
                return ExitCode::from(2);
            }
            print!("{}", outcome.transcript());
            if outcome.passed() {
                println!("\nPASSED: every expectation holds");
                ExitCode::SUCCESS
            } else {
                println!(
                    "\nFAILED: {} expectation(s) do not hold",
                    outcome.failures.len()
                );
                for f in &outcome.failures {
                    println!("{f}");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn coverage(path: &Path) -> ExitCode {
    match harness::coverage::compute(path) {
        Ok(report) => {
            print!("{}", report.render());
            if report.verdict() == harness::coverage::Verdict::Complete {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn check_determinism(path: &Path) -> ExitCode {
    match suite::check_determinism(path) {
        Ok(check) => match check.first_difference {
            None => {
                println!(
                    "deterministic: two runs gave identical transcripts ({} bytes)",
                    check.transcript.len()
                );
                ExitCode::SUCCESS
            }
            Some(line) => {
                println!("NOT deterministic: the transcripts first differ at line {line}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
