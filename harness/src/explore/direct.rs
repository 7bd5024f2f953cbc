//! A generated plan straight to the scenario AST ([`Scenario`]), without rendering it to RON
//! text and parsing that back: exploration's hot path (`explore`, `bench`) runs thousands of
//! plans a second, and the round trip through text cost about a tenth of each seed.
//!
//! The AST built here is exactly what parsing [`Plan::to_ron`] gives (a test compares them over
//! many seeds); where the text would not parse (a label the plain quotes cannot hold, a time
//! past the end of the simulation), [`to_scenario`] answers `None` and the caller takes the
//! text path, which reports the error as a scenario file would.

use std::collections::BTreeMap;

use super::options::AppProfile;
use super::plan::{AppCall, FaultCall, Kind, Plan, PlanStep};
use crate::app::{AppSpec, ErrorMatch, Profile, Reaction, Rule, SlotBinding};
use crate::scenario::{
    AppOp, CallKind, ClockSpec, Credentials, Fault, KeyKind, PartitionDecl, SCENARIO_VERSION,
    Scenario, Seconds, Serial, Step,
};

/// The scenario `plan.to_ron(name, &[])` parses to, or `None` where that text would not parse.
pub fn to_scenario(plan: &Plan, name: &str) -> Option<Scenario> {
    let partitions = plan
        .partitions()
        .enumerate()
        .map(|(i, serial)| {
            Some(PartitionDecl {
                serial: serial_of(serial)?,
                label: format!("par{i}"),
                domain: "dom1".to_owned(),
                hsm: None,
                policies: BTreeMap::new(),
                storage: None,
                co: None,
                activated: true,
                call_ms: 0,
                v1: false,
                co_changed: true,
                activation: None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let steps = plan.steps.iter().map(step).collect::<Option<Vec<_>>>()?;
    Some(Scenario {
        version: SCENARIO_VERSION,
        name: name.to_owned(),
        rules: Vec::new(),
        portable: false,
        seed: plan.options.seed,
        clock: ClockSpec::default(),
        credentials: Credentials::default(),
        hsms: Vec::new(),
        partitions,
        application: plan.options.profile.map(app_spec),
        processes: Vec::new(),
        conf: Some(plan.conf()),
        setup: plan.setup(),
        steps,
        negative: None,
        expect: Vec::new(),
    })
}

/// The application of a profile, as `plan::profile_text` writes it.
fn app_spec(profile: AppProfile) -> AppSpec {
    match profile {
        AppProfile::Naive => AppSpec {
            profile: Profile::Naive,
            slot: None,
        },
        AppProfile::EvictOnError => AppSpec {
            profile: Profile::EvictOnError,
            slot: None,
        },
        AppProfile::Reinit => AppSpec {
            profile: Profile::Reinit,
            slot: None,
        },
        AppProfile::Custom => AppSpec {
            profile: Profile::Custom(vec![
                Rule {
                    on: ErrorMatch::Session,
                    then: vec![Reaction::Reopen],
                    give_up_after: 2,
                },
                Rule::new(ErrorMatch::Object, vec![Reaction::Refind]),
                Rule::new(
                    ErrorMatch::Code("CKR_USER_ALREADY_LOGGED_IN".into()),
                    vec![Reaction::Accept],
                ),
            ]),
            slot: Some(SlotBinding::Label),
        },
    }
}

/// A serial as the text renders it (unquoted, so read as an unsigned integer).
fn serial_of(text: &str) -> Option<Serial> {
    text.parse::<u64>().ok().map(Serial::from)
}

fn step(step: &PlanStep) -> Option<Step> {
    Some(match step {
        PlanStep::App(call) => Step::App(app(call)?),
        PlanStep::Threads { programs, faults } => Step::Threads {
            threads: programs
                .iter()
                .map(|p| p.iter().map(app).collect::<Option<Vec<_>>>())
                .collect::<Option<Vec<_>>>()?,
            faults: faults
                .iter()
                .map(|(at, f)| Some((Seconds::new(*at)?, fault(f)?)))
                .collect::<Option<Vec<_>>>()?,
        },
        PlanStep::Fault(f) => Step::Fault(fault(f)?),
        PlanStep::At(second, f) => Step::At(Seconds::new(*second)?, fault(f)?),
        PlanStep::Advance(s) => Step::Advance(Seconds::new(*s)?),
        PlanStep::Command(line) if plain(line) => Step::Command(line.clone()),
        PlanStep::Checkpoint(label) if plain(label) => Step::Checkpoint(label.clone()),
        PlanStep::Command(_) | PlanStep::Checkpoint(_) => return None,
        PlanStep::OnCall {
            member,
            call,
            nth,
            fault: f,
        } => Step::OnCall {
            member: serial_of(member)?,
            call: call_kind(call)?,
            nth: *nth,
            fault: fault(f)?,
        },
    })
}

/// Text that reads back unchanged between the plain quotes the plan renders it in.
fn plain(text: &str) -> bool {
    !text.contains(['"', '\\'])
}

fn key_kind(kind: Kind) -> KeyKind {
    match kind {
        Kind::Aes256 => KeyKind::Aes256,
        Kind::EcP256 => KeyKind::EcP256,
    }
}

fn app(call: &AppCall) -> Option<AppOp> {
    let label_ok = |l: &String| plain(l).then(|| l.clone());
    Some(match call {
        AppCall::OpenSession => AppOp::OpenSession,
        AppCall::CloseSession => AppOp::CloseSession,
        AppCall::Login => AppOp::Login,
        AppCall::Logout => AppOp::Logout,
        AppCall::Generate { label, kind, token } => {
            let (label, kind) = (label_ok(label)?, key_kind(*kind));
            if *token {
                AppOp::GenerateKey { label, kind }
            } else {
                AppOp::GenerateSessionKey { label, kind }
            }
        }
        AppCall::CreateData { label } => AppOp::CreateData {
            label: label_ok(label)?,
            size: 32,
        },
        AppCall::Destroy { label } => AppOp::DestroyPair {
            key: label_ok(label)?,
        },
        AppCall::Sign { label, times } => AppOp::Sign {
            key: label_ok(label)?,
            times: *times,
        },
        AppCall::Encrypt { label, times } => AppOp::Encrypt {
            key: label_ok(label)?,
            times: *times,
        },
        AppCall::SignInit { label } => AppOp::SignInit {
            key: label_ok(label)?,
        },
        AppCall::SignUpdate => AppOp::SignUpdate { size: 32 },
        AppCall::SignFinal => AppOp::SignFinal,
        AppCall::Direct { serial, label } => AppOp::GenerateKeyOnSlot {
            serial: serial_of(serial)?,
            label: label_ok(label)?,
            kind: KeyKind::Aes256,
        },
        AppCall::Finalize => AppOp::Finalize,
        AppCall::Initialize => AppOp::Initialize,
        AppCall::FindObjects { label } => AppOp::FindObjects(label_ok(label)?),
        AppCall::SlotList => AppOp::SlotList,
    })
}

fn fault(f: &FaultCall) -> Option<Fault> {
    let s = |serial: &String| serial_of(serial);
    Some(match f {
        FaultCall::Drop(m) => Fault::Drop(s(m)?),
        FaultCall::Restore(m) => Fault::Restore(s(m)?),
        FaultCall::Deactivate(m) => Fault::Deactivate(s(m)?),
        FaultCall::Activate(m) => Fault::Activate(s(m)?),
        FaultCall::Revoke(m) => Fault::Revoke(s(m)?),
        FaultCall::LoginFailure(m) => Fault::LoginFailure(s(m)?),
        FaultCall::LoginRestore(m) => Fault::LoginRestore(s(m)?),
        FaultCall::Slow(m, ms) => Fault::Slow {
            member: s(m)?,
            ms: *ms,
        },
        FaultCall::MemberAdded(m) => Fault::MemberAdded(s(m)?),
        FaultCall::Hang(m) => Fault::Hang(s(m)?),
        FaultCall::LostAnswer(m) => Fault::LostAnswer(s(m)?),
        FaultCall::Busy(m, ms) => Fault::Busy {
            member: s(m)?,
            ms: *ms,
        },
        FaultCall::IdleCut(m, ms) => Fault::IdleCut {
            member: s(m)?,
            ms: *ms,
        },
        FaultCall::DirectModify(m, label) if plain(label) => Fault::DirectModify {
            member: s(m)?,
            label: label.clone(),
        },
        FaultCall::DirectChange(m, label, value) if plain(label) && plain(value) => {
            Fault::DirectChange {
                member: s(m)?,
                label: label.clone(),
                value: value.clone(),
            }
        }
        FaultCall::DirectModify(..) | FaultCall::DirectChange(..) => return None,
    })
}

/// The scenario language's name of a call kind, as the plan spells it.
fn call_kind(name: &str) -> Option<CallKind> {
    Some(match name {
        "Any" => CallKind::Any,
        "TokenInfo" => CallKind::TokenInfo,
        "OpenSession" => CallKind::OpenSession,
        "CloseSession" => CallKind::CloseSession,
        "Login" => CallKind::Login,
        "Logout" => CallKind::Logout,
        "GenerateKey" => CallKind::GenerateKey,
        "CreateData" => CallKind::CreateData,
        "FindObjects" => CallKind::FindObjects,
        "ObjectInfo" => CallKind::ObjectInfo,
        "Destroy" => CallKind::Destroy,
        "Sign" => CallKind::Sign,
        "SignMultipart" => CallKind::SignMultipart,
        "Encrypt" => CallKind::Encrypt,
        "ExportClone" => CallKind::ExportClone,
        "ImportClone" => CallKind::ImportClone,
        "Properties" => CallKind::Properties,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::explore::generate::{generate, generate_sized};
    use crate::scenario::parse_generated;

    /// The direct AST equals what the rendered text parses to, for generated plans of every
    /// size and shape the generator draws.
    #[test]
    fn direct_scenario_equals_parsed_text() {
        let plans = (1..=150u64)
            .map(generate)
            .chain((1..=30u64).map(|s| generate_sized(s, Some(200))));
        for plan in plans {
            let name = format!("explore seed {}", plan.options.seed);
            let parsed = parse_generated(&plan.to_ron(&name, &[]), "test").unwrap();
            assert_eq!(
                to_scenario(&plan, &name),
                Some(parsed),
                "seed {}",
                plan.options.seed
            );
        }
    }

    /// The shrinker's `At` step (never generated) builds the AST its text parses to.
    #[test]
    fn an_at_step() {
        let mut plan = generate(1);
        plan.steps.push(PlanStep::Advance(5));
        plan.steps.push(PlanStep::At(
            100_000,
            FaultCall::MemberAdded("1500000000002".into()),
        ));
        let parsed = parse_generated(&plan.to_ron("x", &[]), "test").unwrap();
        let direct = to_scenario(&plan, "x").unwrap();
        assert!(matches!(direct.steps.last(), Some(Step::At(..))));
        assert_eq!(direct, parsed);
    }

    /// Every application call the plan has runs inside `Threads` (D60): the direct AST of such
    /// a program equals what its text parses to; a label the text cannot hold sends the caller
    /// back to the text path.
    #[test]
    fn every_call_in_a_threads_program() {
        let mut plan = generate(1);
        let every = vec![
            AppCall::OpenSession,
            AppCall::Login,
            AppCall::Generate {
                label: "t1".into(),
                kind: Kind::EcP256,
                token: true,
            },
            AppCall::CreateData { label: "t2".into() },
            AppCall::Sign {
                label: "t1".into(),
                times: 2,
            },
            AppCall::SignInit { label: "t1".into() },
            AppCall::SignUpdate,
            AppCall::SignFinal,
            AppCall::FindObjects { label: "t1".into() },
            AppCall::Destroy { label: "t1".into() },
            AppCall::Logout,
            AppCall::CloseSession,
        ];
        plan.steps.push(PlanStep::Threads {
            programs: vec![every.clone(), every],
            faults: Vec::new(),
        });
        let parsed = parse_generated(&plan.to_ron("x", &[]), "test").unwrap();
        assert_eq!(to_scenario(&plan, "x"), Some(parsed));
        plan.steps.push(PlanStep::Threads {
            programs: vec![vec![AppCall::Destroy {
                label: "a\"b".into(),
            }]],
            faults: Vec::new(),
        });
        assert_eq!(to_scenario(&plan, "x"), None);
    }
}
