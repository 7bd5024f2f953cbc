//! A campaign: a range of seeds, optionally one shard of it, run on several OS threads, each
//! seed's result a line of deterministic facts (JSON lines), sorted by seed whatever the number
//! of jobs or shards. Also `merge` of shard results.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use ha_engine::planted::PlantedBug;

use super::check::{self, Violation};
use super::direct;
use super::generate::generate;
use super::observe::Observations;
use super::options::GENERATOR_VERSION;
use super::plan::Plan;
use crate::runner;
use crate::scenario::{self, Scenario};
use sim::record::Record as Run;

/// Why a seed or a campaign could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    /// The generator wrote a scenario the loader refuses (a generator bug).
    #[error("seed {seed}: the generated scenario does not load: {message}")]
    Generated {
        /// The seed.
        seed: u64,
        /// The loader's message.
        message: String,
    },
    /// A `--shard K/M` that does not make sense.
    #[error("--shard {0}: expected K/M with 0 <= K < M")]
    Shard(String),
    /// A results file cannot be read or parsed.
    #[error("{path}:{line}: {message}")]
    Results {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two result files disagree about one seed.
    #[error("seed {0} appears in two result files with different results")]
    Conflict(u64),
    /// Result files that do not make up one campaign.
    #[error("{0}")]
    Campaign(String),
}

/// The first line of a results file: which campaign and which shard of it. Seeds' lines never
/// carry it, so they compare byte for byte across shards and jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// First seed of the whole campaign.
    pub start: u64,
    /// Seeds in the whole campaign.
    pub seeds: u64,
    /// This file's shard index.
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// Generator version.
    pub generator: u32,
    /// hasim version.
    pub hasim: String,
}

/// A line of a results file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Header { campaign: Header },
    Seed(SeedResult),
}

/// `pass` or `fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every invariant held.
    Pass,
    /// An invariant was broken.
    Fail,
}

/// One seed's result: only facts of the seed (no wall time, shard or job index), so results
/// compare byte for byte across jobs and shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The generator version that made its scenario.
    pub generator: u32,
    /// Pass or fail.
    pub verdict: Verdict,
    /// The invariant broken (`I1`..), when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant: Option<String>,
    /// What broke it, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// SHA-256 of the transcript, hex (first 16 bytes).
    pub transcript: String,
}

impl SeedResult {
    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The one-line report of a failure, with its replay command.
    pub fn failure_line(&self) -> String {
        format!(
            "seed {}: {} {} — hasim replay --seed {}",
            self.seed,
            self.invariant.as_deref().unwrap_or("?"),
            self.detail.as_deref().unwrap_or(""),
            self.seed
        )
    }
}

/// A seed run: its plan, scenario, run record and the first violation.
pub struct SeedRun {
    /// The generated plan.
    pub plan: Plan,
    /// The scenario it rendered to.
    pub scenario: Scenario,
    /// What happened.
    pub run: Run,
    /// The first invariant broken, if any.
    pub violation: Option<Violation>,
}

/// Runs a plan (generated or shrunk) and checks the invariants; `planted` turns a planted
/// engine bug on (exploration's own tests only).
pub fn run_plan(plan: Plan, planted: Option<PlantedBug>) -> Result<SeedRun, ExploreError> {
    let seed = plan.options.seed;
    let name = format!("explore seed {seed}");
    let origin = format!("seed {seed}");
    // The AST directly; the text path where the plan holds what text cannot (its error).
    let scenario = match direct::to_scenario(&plan, &name) {
        Some(s) => scenario::validate_generated(&s, &origin).map(|()| s),
        None => scenario::parse_generated(&plan.to_ron(&name, &[]), &origin),
    }
    .map_err(|e| ExploreError::Generated {
        seed,
        message: e.to_string(),
    })?;
    let options = runner::RunOptions {
        witness: true,
        planted,
    };
    let run = runner::run_with(&scenario, options).map_err(|e| ExploreError::Generated {
        seed,
        message: e.to_string(),
    })?;
    let observations = Observations::of(&plan, &run);
    let violation = check::check(&observations, &plan.spares, run.aborted());
    Ok(SeedRun {
        plan,
        scenario,
        run,
        violation,
    })
}

/// Generates, runs and checks one seed.
pub fn run_seed(seed: u64) -> Result<SeedRun, ExploreError> {
    run_plan(generate(seed), None)
}

/// The transcript of a seed run, starting with its seed line.
pub fn transcript(seed_run: &SeedRun) -> String {
    format!(
        "{}\n{}",
        seed_run.plan.options,
        crate::transcript::render(&seed_run.run)
    )
}

fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hsm_model::crypto::hex(&digest[..16])
}

/// The result line of one seed.
pub fn result_of(seed: u64, planted: Option<PlantedBug>) -> Result<SeedResult, ExploreError> {
    let seed_run = run_plan(generate(seed), planted)?;
    let transcript = hash(&transcript(&seed_run));
    Ok(match seed_run.violation {
        None => SeedResult {
            seed,
            generator: GENERATOR_VERSION,
            verdict: Verdict::Pass,
            invariant: None,
            detail: None,
            transcript,
        },
        Some(v) => SeedResult {
            seed,
            generator: GENERATOR_VERSION,
            verdict: Verdict::Fail,
            invariant: Some(v.invariant.to_string()),
            detail: Some(v.detail),
            transcript,
        },
    })
}

/// Seeds per second for generated scenarios of `operations` operations over `seeds` seeds on
/// `jobs` threads, and how many broke an invariant (`hasim bench`).
pub fn throughput(seeds: u64, operations: u32, jobs: u32) -> Result<(f64, u64), ExploreError> {
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let error: Mutex<Option<ExploreError>> = Mutex::new(None);
    let worker = || {
        loop {
            let seed = next.fetch_add(1, Ordering::Relaxed);
            if seed >= seeds {
                break;
            }
            match run_plan(
                super::generate::generate_sized(seed, Some(operations)),
                None,
            ) {
                Ok(r) if r.violation.is_some() => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    if let Ok(mut slot) = error.lock() {
                        *slot = Some(e);
                    }
                }
            }
        }
    };
    // Wall time is what a benchmark measures; it never reaches a transcript or a result.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    // Allowed thread site (benchmark of `explore --jobs`): independent seeds, only counted.
    #[allow(clippy::disallowed_methods)]
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(worker);
        }
    });
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok((seeds as f64 / secs, failed.into_inner()))
}

/// `--shard K/M`: this process runs the seeds whose offset from the start is K modulo M.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 0.
    pub index: u64,
    /// M.
    pub count: u64,
}

impl Shard {
    /// The whole campaign.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `K/M`.
    pub fn parse(text: &str) -> Result<Shard, ExploreError> {
        let bad = || ExploreError::Shard(text.to_string());
        let (k, m) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = m.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A campaign: `seeds` seeds from `start`, this shard's part of them, on `jobs` threads.
#[derive(Clone, Copy, Debug)]
pub struct Campaign {
    /// First seed.
    pub start: u64,
    /// How many seeds the whole campaign has.
    pub seeds: u64,
    /// This process's part.
    pub shard: Shard,
    /// OS threads.
    pub jobs: u32,
    /// A planted engine bug (exploration's own tests only).
    #[doc(hidden)]
    pub planted: Option<PlantedBug>,
}

impl Campaign {
    /// The header line of this shard's results file.
    pub fn header(&self) -> String {
        let header = Header {
            start: self.start,
            seeds: self.seeds,
            shard: self.shard.index,
            shards: self.shard.count,
            generator: GENERATOR_VERSION,
            hasim: env!("CARGO_PKG_VERSION").to_string(),
        };
        serde_json::json!({ "campaign": header }).to_string()
    }

    /// The seeds this shard runs, in order.
    pub fn shard_seeds(&self) -> Vec<u64> {
        (0..self.seeds)
            .filter(|offset| offset % self.shard.count == self.shard.index)
            .filter_map(|offset| self.start.checked_add(offset))
            .collect()
    }

    /// Runs the shard; `tick` is told of each finished seed (for progress). Results sorted by
    /// seed, so `--jobs 1` and `--jobs 4` give the same list.
    pub fn run(
        &self,
        tick: &(dyn Fn(&SeedResult) + Sync),
    ) -> Result<Vec<SeedResult>, ExploreError> {
        let seeds = self.shard_seeds();
        let next = AtomicU64::new(0);
        let results: Mutex<Vec<Result<SeedResult, ExploreError>>> = Mutex::new(Vec::new());
        let worker = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&seed) = usize::try_from(i).ok().and_then(|i| seeds.get(i)) else {
                    break;
                };
                let result = result_of(seed, self.planted);
                if let Ok(r) = &result {
                    tick(r);
                }
                if let Ok(mut all) = results.lock() {
                    all.push(result);
                }
            }
        };
        let jobs = self.jobs.max(1);
        if jobs == 1 {
            worker();
        } else {
            // Allowed thread site (`explore --jobs`): seeds are independent simulations; their
            // results are sorted by seed below, so thread timing never reaches the output.
            #[allow(clippy::disallowed_methods)]
            std::thread::scope(|scope| {
                for _ in 0..jobs {
                    scope.spawn(worker);
                }
            });
        }
        let mut out = Vec::new();
        for r in results.into_inner().unwrap_or_default() {
            out.push(r?);
        }
        out.sort_by_key(|r| r.seed);
        Ok(out)
    }
}

/// `N passed, M failed`.
pub fn summary(results: &[SeedResult]) -> String {
    let failed = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .count();
    format!("{} passed, {} failed", results.len() - failed, failed)
}

/// Reads result files (JSON lines, each starting with its campaign header) and combines them
/// by seed. Refused: files of different campaigns, generator or hasim versions; a shard missing
/// or present twice; a seed present twice with different results; a total that is not the
/// campaign's.
pub fn merge(paths: &[&Path]) -> Result<Vec<SeedResult>, ExploreError> {
    let mut by_seed: BTreeMap<u64, SeedResult> = BTreeMap::new();
    let mut campaign: Option<Header> = None;
    let mut shards: BTreeMap<u64, String> = BTreeMap::new();
    for path in paths {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ExploreError::Results {
            path: name.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        let mut header_seen = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(line).map_err(|e| ExploreError::Results {
                path: name.clone(),
                line: i + 1,
                message: e.to_string(),
            })?;
            match parsed {
                Line::Header { campaign: h } => {
                    if header_seen {
                        return Err(ExploreError::Results {
                            path: name.clone(),
                            line: i + 1,
                            message: "a second campaign header".into(),
                        });
                    }
                    header_seen = true;
                    let key = Header {
                        shard: 0,
                        ..h.clone()
                    };
                    match &campaign {
                        None => campaign = Some(key),
                        Some(c) if *c == key => {}
                        Some(c) => {
                            return Err(ExploreError::Campaign(format!(
                                "{name}: campaign {key:?} differs from the first file's {c:?}"
                            )));
                        }
                    }
                    if let Some(other) = shards.insert(h.shard, name.clone()) {
                        return Err(ExploreError::Campaign(format!(
                            "shard {}/{} appears twice: {other} and {name}",
                            h.shard, h.shards
                        )));
                    }
                }
                Line::Seed(r) => {
                    if !header_seen {
                        return Err(ExploreError::Results {
                            path: name.clone(),
                            line: i + 1,
                            message: "a seed line before the campaign header".into(),
                        });
                    }
                    if let Some(old) = by_seed.get(&r.seed)
                        && *old != r
                    {
                        return Err(ExploreError::Conflict(r.seed));
                    }
                    by_seed.insert(r.seed, r);
                }
            }
        }
    }
    let Some(c) = campaign else {
        return Err(ExploreError::Campaign("no results file given".into()));
    };
    let missing: Vec<String> = (0..c.shards)
        .filter(|k| !shards.contains_key(k))
        .map(|k| format!("{k}/{}", c.shards))
        .collect();
    if !missing.is_empty() {
        return Err(ExploreError::Campaign(format!(
            "shards missing: {}",
            missing.join(", ")
        )));
    }
    if by_seed.len() as u64 != c.seeds {
        return Err(ExploreError::Campaign(format!(
            "{} seed results where the campaign has {}",
            by_seed.len(),
            c.seeds
        )));
    }
    Ok(by_seed.into_values().collect())
}
