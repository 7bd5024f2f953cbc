//! Properties of the exploration generator and of the truth the invariants stand on, with a
//! small case count and a fixed seed so CI is repeatable; failures are persisted by proptest under
//! `proptest-regressions/`.

use harness::explore::observe::{FaultObs, Settings};
use harness::explore::truth::Truth;
use harness::explore::{Plan, generate};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x4a5_1a7),
        ..ProptestConfig::default()
    }
}

fn loads(plan: &Plan) -> bool {
    harness::scenario::parse_generated(&plan.to_ron("p", &[]), "p").is_ok()
}

proptest! {
    #![proptest_config(config(24))]

    /// Any seed gives a scenario the loader accepts, the same one every time, with its options
    /// in range (2–5 members, retry in {0, -1, 1..500}, interval 60..1200, 50–500 operations).
    #[test]
    fn every_seed_gives_a_valid_repeatable_scenario(seed in any::<u64>()) {
        let plan = generate(seed);
        prop_assert_eq!(&plan, &generate(seed));
        prop_assert!(loads(&plan));
        let o = &plan.options;
        prop_assert!((2..=5).contains(&o.members));
        prop_assert!(o.standby < o.members);
        prop_assert!(o.retry == 0 || o.retry == -1 || (1..=500).contains(&o.retry));
        prop_assert!((60..=1200).contains(&o.interval));
        prop_assert!((50..=500).contains(&o.operations));
        // The heal is always there: the invariants read its checkpoints.
        let text = plan.to_ron("p", &[]);
        prop_assert!(text.contains("Checkpoint(\"healed\")"));
        prop_assert!(text.contains("Checkpoint(\"final\")"));
        prop_assert!(text.contains("hagroup halog -path"));
    }
}

fn fault_strategy() -> impl Strategy<Value = (u8, FaultObs)> {
    let fault = prop_oneof![
        Just(FaultObs::Drop),
        Just(FaultObs::Restore),
        Just(FaultObs::Deactivate),
        Just(FaultObs::Activate),
        Just(FaultObs::Revoke),
        Just(FaultObs::LoginFailure),
        (0u64..40_000).prop_map(FaultObs::Slow),
    ];
    (0u8..3, fault)
}

proptest! {
    #![proptest_config(config(64))]

    /// The truth the invariants stand on: a member counts as usable only while it is healthy,
    /// and a member no fault ever touched is usable at every instant.
    #[test]
    fn usable_members_are_healthy_and_untouched_ones_always_usable(
        faults in proptest::collection::vec((1u64..100_000, fault_strategy()), 0..30),
        retry in prop_oneof![Just(-1i32), Just(0i32), 1i32..10],
    ) {
        let members: Vec<String> = ["A", "B", "C", "D"].iter().map(|s| s.to_string()).collect();
        let settings = Settings {
            retry,
            interval: 60,
            enhanced: false,
            failover_on_deactivation: false,
            synchronize: true,
            ha_only: false,
            naive_slot: false,
        };
        let mut truth = Truth::new(&members, &[], &settings);
        truth.login(true, 0);
        let mut now = 0;
        for (gap, (who, fault)) in faults {
            now += gap;
            truth.fault(&members[usize::from(who)], &fault, now);
            for m in &members {
                if truth.usable(m, now) {
                    prop_assert!(truth.healthy(m), "{m} usable but not healthy");
                }
            }
            prop_assert!(truth.usable("D", now), "D was never touched");
        }
    }
}
