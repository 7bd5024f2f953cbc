//! Exploration: seeds mean the same scenario tomorrow (seed 1's scenario is snapshotted), results
//! do not depend on the number of jobs or shards, and a campaign's shards merge to the unsharded
//! run.

use harness::explore::campaign::{self, Campaign, Shard};
use harness::explore::generate;

/// Seeds in the determinism checks: a few hundred, quick in a debug build on 2 cores.
const SEEDS: u64 = 200;

fn campaign(seeds: u64, shard: Shard, jobs: u32) -> Vec<campaign::SeedResult> {
    Campaign {
        start: 0,
        seeds,
        shard,
        jobs,
        planted: None,
    }
    .run(&|_| {})
    .expect("every generated scenario loads")
}

#[test]
fn results_are_the_same_twice_and_with_one_or_two_jobs() {
    let one = campaign(SEEDS, Shard::WHOLE, 1);
    let again = campaign(SEEDS, Shard::WHOLE, 1);
    let two = campaign(SEEDS, Shard::WHOLE, 2);
    assert_eq!(one.len() as u64, SEEDS);
    assert_eq!(one, again, "the same seeds twice");
    assert_eq!(one, two, "--jobs 1 and --jobs 2");
    let lines =
        |r: &[campaign::SeedResult]| -> Vec<String> { r.iter().map(|x| x.to_json()).collect() };
    assert_eq!(lines(&one), lines(&two), "the JSON lines byte for byte");
}

#[test]
fn four_shards_merged_equal_the_unsharded_run() {
    let seeds = 60;
    let whole = campaign(seeds, Shard::WHOLE, 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut paths = Vec::new();
    for index in 0..4 {
        let shard = Shard { index, count: 4 };
        let c = Campaign {
            start: 0,
            seeds,
            shard,
            jobs: 1,
            planted: None,
        };
        let results = c.run(&|_| {}).expect("runs");
        let path = dir.path().join(format!("shard-{index}.jsonl"));
        let mut text = c.header();
        text.push('\n');
        for r in &results {
            text.push_str(&r.to_json());
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write");
        paths.push(path);
    }
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let merged = campaign::merge(&refs).expect("merge");
    assert_eq!(merged, whole);
    assert_eq!(campaign::summary(&merged), campaign::summary(&whole));
    // A missing shard is refused rather than a smaller total.
    let err = campaign::merge(&refs[..3]).expect_err("shard 3 missing");
    assert!(err.to_string().contains("shards missing: 3/4"), "{err}");
}

#[test]
fn seed_one_generates_the_scenario_it_always_did() {
    let plan = generate(1);
    insta::assert_snapshot!("explore-seed-1", plan.to_ron("explore seed 1", &[]));
}

#[test]
fn the_cluster_manifests_run_one_shard_per_index_and_merge() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");
    let job = std::fs::read_to_string(format!("{root}/k8s/explore-job.yaml")).expect("k8s job");
    assert!(job.contains("completionMode: Indexed"));
    let completions: u64 = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("completions");
    assert!(job.contains(&format!(
        "--shard \"${{JOB_COMPLETION_INDEX}}/{completions}\""
    )));
    assert!(job.contains("hasim explore merge /results/shard-*.jsonl"));
    let workflow =
        std::fs::read_to_string(format!("{root}/github/explore-campaign.yml")).expect("workflow");
    let shards = workflow
        .lines()
        .find_map(|l| l.trim().strip_prefix("shard: ["))
        .map(|l| l.split(',').count())
        .expect("matrix");
    assert!(workflow.contains(&format!("--shard \"$SHARD/{shards}\"")));
    assert!(workflow.contains("hasim explore merge results/shard-*.jsonl"));
}

#[test]
fn a_threads_fault_at_the_instant_of_a_call_is_checked_where_it_struck() {
    // Seed 76143, shrunk: a `Threads` step schedules a drop of B at the instant its thread's
    // call drives B's manual recovery (B45). The scenario language lets the seed order the two
    // ("the seed orders simultaneous events"); this seed runs the call first, so the attempt
    // met B reachable and `succeeded` is true. The checker reads the drop where it struck.
    use harness::explore::options::Mode;
    use harness::explore::plan::{AppCall, FaultCall, Kind, PlanStep};
    let b = "1500000000002".to_string();
    let mut plan = generate(76143);
    plan.members = vec!["1500000000001".into(), b.clone()];
    plan.standby.clear();
    plan.spares.clear();
    plan.retry = 1;
    plan.interval = 60;
    plan.mode = Mode::Basic;
    plan.steps = vec![
        PlanStep::Threads {
            programs: vec![vec![AppCall::SignInit {
                label: "k19".into(),
            }]],
            faults: vec![(505, FaultCall::Drop(b.clone()))],
        },
        PlanStep::Threads {
            programs: vec![vec![AppCall::Generate {
                label: "k51".into(),
                kind: Kind::Aes256,
                token: true,
            }]],
            faults: vec![],
        },
        PlanStep::At(819, FaultCall::Restore(b.clone())),
        PlanStep::Command("hagroup recover".into()),
        PlanStep::Threads {
            programs: vec![vec![AppCall::CreateData {
                label: "d78".into(),
            }]],
            faults: vec![(819, FaultCall::Drop(b.clone()))],
        },
    ];
    let seed_run = campaign::run_plan(plan, None).expect("the plan runs");
    assert_eq!(seed_run.violation.map(|v| v.detail), None);
    let events = &seed_run.run.events;
    let succeeded = events.iter().position(|e| {
        matches!(&e.event, sim::record::Event::Log(l)
            if l.ends_with("recovery attempt 1 succeeded for member: 1500000000002"))
    });
    let struck = events.iter().position(|e| {
        matches!(&e.event, sim::record::Event::ScheduledFaultApplied { member, .. } if *member == b)
            && e.at == 819_000
    });
    assert!(
        matches!((succeeded, struck), (Some(s), Some(d)) if s < d),
        "the attempt's line comes before the drop: {succeeded:?} {struck:?}"
    );
}
