use harness::explore::campaign::run_plan;
#[test]
fn scratch() {
    let seed = 43;
    let r = harness::explore::campaign::run_seed(seed).unwrap();
    let v = r.violation.clone().unwrap();
    let mut p = r.plan.clone();
    let n = p.steps.len();
    for (i, s) in p.steps.iter().enumerate().skip(n - 20) {
        eprintln!("{i}: {s:?}");
    }
    for cut in [n - 3, n - 2, n - 1, n] {
        p.steps = r.plan.steps[..cut].to_vec();
        let r2 = run_plan(p.clone(), None).unwrap();
        eprintln!(
            "cut {cut}: {:?}",
            r2.violation.map(|v| (v.invariant, v.detail))
        );
    }
}
