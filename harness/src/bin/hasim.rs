//! The `hasim` command line: run scenarios, check determinism, benchmark.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use harness::backend::{Backend, SoftHsmOptions};
use harness::differential::{self, Comparison};
use harness::suite::{self, BackendRun};

/// mimalloc instead of the system allocator: a seed's run allocates and frees many small
/// strings and vectors, and glibc's malloc was a fifth of exploration's time (D97).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Where the partitions live: hasim's in-process HSM (`model`) or fresh SoftHSM2
        /// tokens (`softhsm`), one per partition, removed afterwards. Scenarios that need
        /// Luna-only features are skipped on SoftHSM, with the reason.
        #[arg(long, value_enum, default_value_t = BackendName::Model)]
        backend: BackendName,
        /// With `--backend softhsm`: keep the tokens (module copies, configuration files,
        /// token directories) under this directory for inspection.
        #[arg(long, value_name = "DIR")]
        keep_tokens: Option<PathBuf>,
    },
    /// Run every portable scenario (`portable: true`) on the model and on SoftHSM and compare
    /// their portable views (no storage figures, no backend binding). Prints `same` or the
    /// difference per file, then `N same, M differ, K skipped`. Exit 0: none differs.
    Differential {
        /// A `.ron` scenario file or a folder of them.
        path: PathBuf,
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
    /// Validate a real client setup (Chrystoki.conf + PKCS#11 library): checks with rule ids,
    /// then the portable scenarios through hasim's engine on the real members. Exit 0: nothing
    /// failed; 1: a check or a scenario failed; 2: validate could not run.
    #[cfg(feature = "pkcs11")]
    Validate(harness::validate::command::ValidateArgs),
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

/// A backend as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendName {
    /// hasim's in-process HSM.
    Model,
    /// Fresh SoftHSM2 tokens.
    Softhsm,
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
    if needs_softhsm(&cli.command) && std::env::var_os("SOFTHSM2_CONF").is_none() {
        return rerun_with_softhsm_conf();
    }
    match cli.command {
        Command::Run {
            path,
            timeline,
            backend,
            keep_tokens,
        } => {
            let backend = match backend {
                BackendName::Model => {
                    if keep_tokens.is_some() {
                        eprintln!("hasim run: --keep-tokens needs --backend softhsm");
                        return ExitCode::from(2);
                    }
                    Backend::Model
                }
                BackendName::Softhsm => Backend::SoftHsm(SoftHsmOptions { keep_tokens }),
            };
            run(&path, &backend, timeline.as_deref())
        }
        Command::Differential { path } => differential(&path),
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
        #[cfg(feature = "pkcs11")]
        Command::Validate(args) => harness::validate::command::main(&args),
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

/// True when the command loads SoftHSM2.
fn needs_softhsm(command: &Command) -> bool {
    match command {
        Command::Run { backend, .. } => *backend == BackendName::Softhsm,
        Command::Differential { .. } => true,
        Command::Bench(args) => args.softhsm(),
        _ => false,
    }
}

/// SoftHSM reads `SOFTHSM2_CONF` inside `C_Initialize`, and hasim never changes the
/// environment of a running process: without the variable, hasim runs itself again as a child
/// whose environment names a fresh file (in a directory of its own, removed afterwards) and
/// exits with the child's status.
fn rerun_with_softhsm_conf() -> ExitCode {
    let dir = std::env::temp_dir().join(format!("hasim-conf-{}", std::process::id()));
    let result = (|| -> std::io::Result<std::process::ExitStatus> {
        std::fs::create_dir_all(&dir)?;
        let exe = std::env::current_exe()?;
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
            .status()
    })();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::from(1),
        },
        Err(e) => {
            eprintln!("hasim: cannot run itself with SOFTHSM2_CONF set: {e}");
            ExitCode::from(2)
        }
    }
}

fn differential(path: &Path) -> ExitCode {
    let files = match suite::discover(path) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            eprintln!(
                "hasim differential: no .ron scenario files under {}",
                path.display()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("hasim differential: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut same, mut differ, mut skipped, mut errors) = (0, 0, 0, 0);
    for file in &files {
        let name = suite::scenario_name(path, file);
        match differential::compare_file(file) {
            Ok(Comparison::Same) => {
                same += 1;
                println!("same    {name}");
            }
            Ok(Comparison::Differ(diff)) => {
                differ += 1;
                println!("DIFFER  {name}");
                for line in diff.lines() {
                    println!("        {line}");
                }
            }
            Ok(Comparison::Skipped(reason)) => {
                skipped += 1;
                println!("skipped {name} ({reason})");
            }
            Err(e) => {
                differ += 1;
                errors += 1;
                println!("ERROR   {name}");
                println!("        {e}");
            }
        }
    }
    println!("{same} same, {differ} differ, {skipped} skipped");
    if errors > 0 {
        ExitCode::from(2)
    } else if differ > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
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

fn run(path: &Path, backend: &Backend, timeline: Option<&Path>) -> ExitCode {
    if path.is_file() {
        return run_one(path, backend, timeline);
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
    let (mut passed, mut failed, mut malformed, mut skipped) = (0, 0, 0, 0);
    for file in &files {
        let name = suite::scenario_name(path, file);
        match suite::run_file_on(file, backend) {
            Ok(BackendRun::Ran(outcome)) if outcome.passed() => {
                passed += 1;
                println!("ok      {name}");
            }
            Ok(BackendRun::Ran(outcome)) => {
                failed += 1;
                println!("FAILED  {name}");
                for f in &outcome.failures {
                    for line in f.lines() {
                        println!("        {line}");
                    }
                }
            }
            Ok(BackendRun::Skipped(reason)) => {
                skipped += 1;
                println!("skipped {name} ({reason})");
            }
            Err(e) => {
                failed += 1;
                malformed += 1;
                println!("ERROR   {name}");
                println!("        {e}");
            }
        }
    }
    if *backend == Backend::Model {
        println!("{passed} passed, {failed} failed");
    } else {
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    }
    if malformed > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn run_one(path: &Path, backend: &Backend, timeline: Option<&Path>) -> ExitCode {
    match suite::run_file_on(path, backend) {
        Ok(BackendRun::Skipped(reason)) => {
            println!("skipped ({reason})");
            ExitCode::SUCCESS
        }
        Ok(BackendRun::Ran(outcome)) => {
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
