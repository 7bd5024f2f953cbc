//! Owns reading a scenario: RON text → [`Scenario`], then the checks serde cannot express.
//!
//! Syntax and type errors come from `ron` and are reported as `file:line:col: message`: the
//! start of ron's span (moved past any leading whitespace) and ron's own message. Validation
//! errors name the place in the file (`steps[3]`, `partitions[1].hsm`, ...) and the rule
//! broken; ron gives no positions after parsing, so they carry none.
//!
//! RON options: the `IMPLICIT_SOME` extension is enabled, so an optional field may be written
//! without `Some(...)` (`hsm: 900001`, `negative: (input: ..., error: ...)`); `Some(x)` and
//! `None` keep working. No other extension is enabled.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use ron::extensions::Extensions;
use serde::Deserialize;

use super::ast::{AppOp, Auth, Expect, Fault, HsmForm, SCENARIO_VERSION, Scenario, Step};
use super::serial::Serial;

/// Why a scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The text is not a well-formed v1 scenario (RON syntax, a wrong type, an unknown field...).
    #[error("{file}:{line}:{col}: {message}")]
    Syntax {
        /// Where the text came from (a path or an origin name).
        file: String,
        /// 1-based line where the offending token starts (see the module doc).
        line: usize,
        /// 1-based column (in characters) where the offending token starts.
        col: usize,
        /// ron's message.
        message: String,
    },
    /// The scenario parsed but breaks a rule of the language.
    #[error("{file}{}: {message}", position_suffix(*.line, *.col))]
    Invalid {
        /// Where the text came from.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// 1-based column, when known.
        col: Option<usize>,
        /// The place in the scenario and the rule broken.
        message: String,
    },
    /// The file could not be read.
    #[error("{file}: {message}")]
    Io {
        /// The path.
        file: String,
        /// The operating system's message.
        message: String,
    },
}

/// `:line:col` when both are known, else nothing.
fn position_suffix(line: Option<usize>, col: Option<usize>) -> String {
    match (line, col) {
        (Some(line), Some(col)) => format!(":{line}:{col}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

/// The RON options every scenario is read with (see the module doc).
fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Just the version, read leniently, to refuse other versions with a clear message even when
/// the rest of the file is not v1.
#[derive(Deserialize)]
#[serde(rename = "Scenario")]
struct VersionProbe {
    version: u32,
}

/// Parse and validate a scenario from text; `origin` names it in errors (usually its path).
pub fn parse_str(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    let scenario = parse_only(text, origin)?;
    validate(&scenario, origin)?;
    Ok(scenario)
}

/// Parse and validate a generated scenario (exploration): every rule of [`validate`] but the
/// stated verdict, which for a generated run is the invariant checker's.
pub fn parse_generated(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    let scenario = parse_only(text, origin)?;
    validate_with(&scenario, origin, false)?;
    Ok(scenario)
}

/// Validates a scenario built in memory by the explorer ([`crate::explore`]) as
/// [`parse_generated`] validates parsed text (no verdict required).
pub fn validate_generated(scenario: &Scenario, origin: &str) -> Result<(), LoadError> {
    validate_with(scenario, origin, false)
}

fn parse_only(text: &str, origin: &str) -> Result<Scenario, LoadError> {
    let options = ron_options();
    let scenario: Scenario = match options.from_str(text) {
        Ok(scenario) => scenario,
        Err(error) => {
            if let Ok(probe) = options.from_str::<VersionProbe>(text)
                && probe.version != SCENARIO_VERSION
            {
                return Err(unsupported_version(origin, probe.version));
            }
            let (line, col) = token_start(text, &error.span);
            let mut message = error.code.to_string();
            if let Some(hint) = positional_hint(text, line, col) {
                message.push_str(&hint);
            }
            return Err(LoadError::Syntax {
                file: origin.to_owned(),
                line,
                col,
                message,
            });
        }
    };
    Ok(scenario)
}

/// The faults that take the member's serial alone, positionally.
const POSITIONAL_FAULTS: [&str; 9] = [
    "Drop",
    "Restore",
    "Deactivate",
    "Activate",
    "Revoke",
    "LoginFailure",
    "MemberAdded",
    "Hang",
    "LostAnswer",
];

/// A hint when the error sits in `Drop(member: S)` (or another positional fault written with a
/// field name): these faults take the serial alone.
fn positional_hint(text: &str, line: usize, col: usize) -> Option<String> {
    let source = text.lines().nth(line.checked_sub(1)?)?;
    let upto: String = source.chars().take(col).collect();
    let open = upto.rfind('(')?;
    let name_start = upto[..open]
        .rfind(|c: char| !c.is_ascii_alphanumeric())
        .map_or(0, |i| i + 1);
    let name = &upto[name_start..open];
    let after = source[open + 1..].trim_start();
    (POSITIONAL_FAULTS.contains(&name) && after.starts_with("member")).then(|| {
        format!(
            " (the fault {name} takes the member's serial alone: write {name}(1234840370164), not {name}(member: 1234840370164); only Slow names its fields)"
        )
    })
}

/// Read, parse and validate a scenario file; errors name the file by its path as given.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
        file: file.clone(),
        message: error.to_string(),
    })?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(invalid(
            &file,
            format!(
                "the file has {} bytes; a scenario file may have at most {MAX_FILE_BYTES} (see docs/limits.md)",
                bytes.len()
            ),
        ));
    }
    let text = utf8(&bytes, &file)?;
    parse_str(text, &file)
}

/// The largest scenario file hasim reads (1 MiB: the longest repository scenario is under 10 KiB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// `bytes` as UTF-8, or an error with the line, column and byte offset of the first bad byte.
pub fn utf8<'a>(bytes: &'a [u8], file: &str) -> Result<&'a str, LoadError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The prefix is valid UTF-8 by construction.
        let before = std::str::from_utf8(good).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        LoadError::Syntax {
            file: file.to_string(),
            line,
            col,
            message: format!("invalid UTF-8 (byte offset {})", e.valid_up_to()),
        }
    })
}

/// The start of ron's span, moved forward over whitespace (never past the span's end): ron
/// sometimes starts a span just after the previous token, e.g. at the blank between `seed:`
/// and a misplaced `"7"`; the reported column is then the offending token's first character.
fn token_start(text: &str, span: &ron::error::Span) -> (usize, usize) {
    let start = (span.start.line, span.start.col);
    let end = (span.end.line, span.end.col);
    let (mut line, mut col) = (1, 1);
    for c in text.chars() {
        if (line, col) >= start && (!c.is_whitespace() || (line, col) >= end) {
            return (line, col);
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    start
}

fn unsupported_version(origin: &str, version: u32) -> LoadError {
    invalid(
        origin,
        format!(
            "unsupported scenario version {version} (this hasim reads version {SCENARIO_VERSION})"
        ),
    )
}

fn invalid(origin: &str, message: String) -> LoadError {
    LoadError::Invalid {
        file: origin.to_owned(),
        line: None,
        col: None,
        message,
    }
}

/// Check the rules of the language that serde cannot express. `parse_str` and `load_file`
/// already call this; it is public for scenarios built in code. The first broken rule is reported.
///
/// Rules: version is 1; `clock.start` has the shape `YYYY-MM-DD HH:MM:SS`; no CO password is
/// empty; `conf` parses and its values are in range (`conf: Chrystoki.conf:line:col: ...`); a
/// Cloud HSM authenticates with a password (B15); HSM serials are unique; at least one partition; partition serials are unique; a
/// partition's `hsm` names a declared HSM; every serial in a step names a declared partition;
/// `OnCall` `nth` >= 1; checkpoint labels are unique; `ObjectCounts`/`ObjectCountsAt` name
/// declared partitions and `ObjectCountsAt` a recorded checkpoint; a scenario without
/// `negative` states its own verdict (at least one `Log` and one `ObjectCounts`/`ObjectCountsAt`).
pub fn validate(scenario: &Scenario, origin: &str) -> Result<(), LoadError> {
    validate_with(scenario, origin, true)
}

fn validate_with(
    scenario: &Scenario,
    origin: &str,
    require_verdict: bool,
) -> Result<(), LoadError> {
    let fail = |message: String| Err(invalid(origin, message));

    if scenario.version != SCENARIO_VERSION {
        return Err(unsupported_version(origin, scenario.version));
    }
    if !is_timestamp_shape(&scenario.clock.start) {
        return fail(format!(
            "clock.start: {:?} does not have the shape YYYY-MM-DD HH:MM:SS",
            scenario.clock.start
        ));
    }
    if scenario.credentials.co.is_empty() {
        return fail("credentials.co: the CO password must not be empty".to_owned());
    }

    if let Some(text) = &scenario.conf {
        // A configuration file that cannot be read is an input error, like the scenario's own
        // syntax: `file: conf: Chrystoki.conf:line:col: ...` (exit 2), never a run.
        let origin = lunacm::chrystoki::Format::sniff(text).file_name();
        if let Err(e) = lunacm::chrystoki::check_text(text, origin) {
            return fail(format!("conf: {e}"));
        }
    }

    let mut hsms: BTreeMap<&Serial, usize> = BTreeMap::new();
    for (index, hsm) in scenario.hsms.iter().enumerate() {
        if hsm.form == HsmForm::Cloud && hsm.auth == Auth::Ped {
            return fail(format!(
                "hsms[{index}]: HSM {} is a Luna Cloud HSM service, which supports password authentication only (auth: Ped is not possible; B15)",
                hsm.serial
            ));
        }
        if let Some(first) = hsms.insert(&hsm.serial, index) {
            return fail(format!(
                "hsms[{index}]: HSM serial {} is already declared by hsms[{first}]; HSM serials must be unique",
                hsm.serial
            ));
        }
    }

    if scenario.partitions.is_empty() {
        return fail("partitions: at least one partition must be declared".to_owned());
    }
    let mut partitions: BTreeMap<&Serial, usize> = BTreeMap::new();
    for (index, partition) in scenario.partitions.iter().enumerate() {
        if let Some(&first) = partitions.get(&partition.serial) {
            return fail(format!(
                "partitions[{index}]: partition serial {} is already declared by partitions[{first}]; partition serials must be unique",
                partition.serial
            ));
        }
        partitions.insert(&partition.serial, index);
        if let Some(hsm) = &partition.hsm
            && !hsms.contains_key(hsm)
        {
            return fail(format!(
                "partitions[{index}].hsm: HSM {hsm} is not declared in hsms ({})",
                listing(hsms.keys().copied())
            ));
        }
        if partition.co.as_ref().is_some_and(String::is_empty) {
            return fail(format!(
                "partitions[{index}].co: the CO password must not be empty"
            ));
        }
    }
    let undeclared = |place: String, what: &str, serial: &Serial| {
        invalid(
            origin,
            format!(
                "{place}: {what} names {serial}, which is not a declared partition ({})",
                listing(partitions.keys().copied())
            ),
        )
    };

    for (index, process) in scenario.processes.iter().enumerate() {
        let place = format!("processes[{index}]");
        if process.name == "main"
            || scenario.processes[..index]
                .iter()
                .any(|p| p.name == process.name)
        {
            return fail(format!(
                "{place}: process name {:?} is `main` or already taken; names must be unique",
                process.name
            ));
        }
        for serial in &process.order {
            if !partitions.contains_key(serial) {
                return Err(undeclared(place, "order", serial));
            }
        }
        let distinct: std::collections::BTreeSet<&Serial> = process.order.iter().collect();
        if !process.order.is_empty()
            && (distinct.len() != process.order.len() || distinct.len() != partitions.len())
        {
            return fail(format!(
                "{place}: order must list every declared partition once ({})",
                listing(partitions.keys().copied())
            ));
        }
    }

    let mut checkpoints: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let place = format!("steps[{index}]");
        let check_fault = |fault: &Fault| {
            if partitions.contains_key(fault.member()) {
                Ok(())
            } else {
                Err(undeclared(
                    place.clone(),
                    &format!("fault {}", fault.kind_name()),
                    fault.member(),
                ))
            }
        };
        match step {
            Step::Fault(fault) | Step::At(_, fault) => check_fault(fault)?,
            Step::OnCall {
                member, nth, fault, ..
            } => {
                if !partitions.contains_key(member) {
                    return Err(undeclared(place, "OnCall member", member));
                }
                if *nth == 0 {
                    return fail(format!(
                        "{place}: OnCall nth is 0; calls are counted from 1 (nth >= 1)"
                    ));
                }
                check_fault(fault)?;
            }
            Step::Checkpoint(label) => {
                if let Some(first) = checkpoints.insert(label, index) {
                    return fail(format!(
                        "{place}: checkpoint {label:?} is already recorded by steps[{first}]; checkpoint labels must be unique"
                    ));
                }
            }
            Step::CallCounts(from, to) => {
                for label in [from, to] {
                    if !checkpoints.contains_key(label.as_str()) {
                        return fail(format!(
                            "{place}: CallCounts names checkpoint {label:?}, which no earlier Checkpoint step records"
                        ));
                    }
                }
                if checkpoints.get(from.as_str()) >= checkpoints.get(to.as_str()) {
                    return fail(format!(
                        "{place}: CallCounts({from:?}, {to:?}) needs {from:?} recorded before {to:?}"
                    ));
                }
            }
            Step::Threads { threads, faults } => {
                if threads.is_empty() {
                    return fail(format!("{place}: Threads needs at least one thread"));
                }
                for (_, fault) in faults {
                    check_fault(fault)?;
                }
            }
            Step::In(name, _) => {
                if name != "main" && !scenario.processes.iter().any(|p| p.name == *name) {
                    return fail(format!(
                        "{place}: In names process {name:?}, which is not declared in `processes` (nor `main`)"
                    ));
                }
            }
            Step::App(_)
            | Step::Command(_)
            | Step::Advance(_)
            | Step::AdvanceTo(_)
            | Step::EditConf(_) => {}
        }
    }

    if let Some(message) = super::limits::check(scenario) {
        return fail(message);
    }

    let mut has_log = false;
    let mut has_counts = false;
    let mut has_output = false;
    let checkpoint_named = |place: &str, form: &str, label: &str| {
        if checkpoints.contains_key(label) {
            Ok(())
        } else {
            Err(invalid(
                origin,
                format!(
                    "{place}: {form} names checkpoint {label:?}, which no Checkpoint step records"
                ),
            ))
        }
    };
    let vacuous = |place: &str, form: &str, why: &str| {
        Err(invalid(
            origin,
            format!("{place}: {form} is vacuous ({why}); state what must hold"),
        ))
    };
    for (index, expect) in scenario.expect.iter().enumerate() {
        let place = format!("expect[{index}]");
        let counts: Vec<&Serial> = match expect {
            Expect::Log(line) | Expect::LogCount(line, _) => {
                if line.is_empty() {
                    let form = if matches!(expect, Expect::Log(_)) {
                        "Log(\"\")"
                    } else {
                        "LogCount(\"\", n)"
                    };
                    return vacuous(&place, form, "no HA log line is empty");
                }
                has_log |= matches!(expect, Expect::Log(_));
                continue;
            }
            Expect::Diverged(label) => {
                let fingerprinted = scenario.steps.iter().any(|s| {
                    matches!(s, Step::App(AppOp::Fingerprints(l)) | Step::In(_, AppOp::Fingerprints(l)) if l == label)
                });
                if !fingerprinted {
                    return Err(invalid(
                        origin,
                        format!(
                            "{place}: Diverged({label:?}) needs a Fingerprints({label:?}) step to read"
                        ),
                    ));
                }
                continue;
            }
            Expect::NoLogContaining(text) => {
                if text.is_empty() {
                    return vacuous(
                        &place,
                        "NoLogContaining(\"\")",
                        "every line contains the empty text",
                    );
                }
                continue;
            }
            Expect::Output(line) | Expect::OutputContains(line) => {
                if line.is_empty() {
                    let form = if matches!(expect, Expect::Output(_)) {
                        "Output(\"\")"
                    } else {
                        "OutputContains(\"\")"
                    };
                    return vacuous(
                        &place,
                        form,
                        "a blank line or the empty text is always there",
                    );
                }
                has_output = true;
                continue;
            }
            Expect::ObjectCounts(counts) => {
                if counts.is_empty() {
                    return vacuous(&place, "ObjectCounts({})", "it names no member");
                }
                counts.keys().collect()
            }
            Expect::ObjectCountsAt(label, counts) => {
                checkpoint_named(&place, "ObjectCountsAt", label)?;
                if counts.is_empty() {
                    return vacuous(&place, "ObjectCountsAt(label, {})", "it names no member");
                }
                counts.keys().collect()
            }
            Expect::SlotsAt(label, _) => {
                checkpoint_named(&place, "SlotsAt", label)?;
                Vec::new()
            }
            Expect::ServedBetween(from, to, served) => {
                checkpoint_named(&place, "ServedBetween", from)?;
                checkpoint_named(&place, "ServedBetween", to)?;
                if checkpoints[from.as_str()] >= checkpoints[to.as_str()] {
                    return fail(format!(
                        "{place}: ServedBetween: checkpoint {from:?} must come before {to:?}"
                    ));
                }
                if served.is_empty() {
                    return vacuous(&place, "ServedBetween(a, b, {})", "it names no member");
                }
                served.keys().collect()
            }
            Expect::CallsBetween(from, to, calls) => {
                checkpoint_named(&place, "CallsBetween", from)?;
                checkpoint_named(&place, "CallsBetween", to)?;
                if checkpoints[from.as_str()] >= checkpoints[to.as_str()] {
                    return fail(format!(
                        "{place}: CallsBetween: checkpoint {from:?} must come before {to:?}"
                    ));
                }
                if calls.is_empty() {
                    return vacuous(&place, "CallsBetween(a, b, {})", "it names no member");
                }
                calls.keys().collect()
            }
            Expect::RolesAt(label, roles) => {
                checkpoint_named(&place, "RolesAt", label)?;
                if roles.is_empty() {
                    return vacuous(&place, "RolesAt(label, {})", "it names no member");
                }
                roles.keys().collect()
            }
            Expect::LogFilesAt(label, _) => {
                checkpoint_named(&place, "LogFilesAt", label)?;
                Vec::new()
            }
            Expect::NoAppErrors | Expect::AppErrors(_) | Expect::FinalErrors(_) => continue,
        };
        has_counts |= matches!(expect, Expect::ObjectCounts(_) | Expect::ObjectCountsAt(..));
        if let Some(serial) = counts.into_iter().find(|s| !partitions.contains_key(s)) {
            let what = match expect {
                Expect::ServedBetween(..) => "a served count",
                Expect::CallsBetween(..) => "a call count",
                Expect::RolesAt(..) => "a role",
                _ => "an object count",
            };
            return Err(undeclared(place, what, serial));
        }
    }
    if let Some(case) = &scenario.negative {
        match (&case.error, &case.error_contains) {
            (Some(_), Some(_)) => {
                return fail(
                    "negative: give error (the exact refusal) or error_contains (a part of it), not both"
                        .to_owned(),
                );
            }
            (None, None) => {
                return fail(
                    "negative: missing error (the exact refusal) or error_contains (a part of it)"
                        .to_owned(),
                );
            }
            (Some(e), None) | (None, Some(e)) if e.is_empty() => {
                return vacuous(
                    "negative",
                    "an empty refusal text",
                    "every refusal matches it",
                );
            }
            _ => {}
        }
    }
    // A scenario with no application step (admin only) may state its verdict with what LunaCM
    // printed alone (1.1); one with an application needs a Log and an object count.
    let has_app = scenario
        .steps
        .iter()
        .any(|s| matches!(s, Step::App(_) | Step::Threads { .. }));
    if scenario.negative.is_none() && require_verdict {
        if !has_app && (has_output || (has_log && has_counts)) {
            return Ok(());
        }
        if !has_app {
            return fail(
                "expect: no Output(...)/OutputContains(...) expectation; every scenario states its own verdict \
                 (an admin-only scenario needs at least one Output or OutputContains)"
                    .to_owned(),
            );
        }
        if !has_log {
            return fail(
                "expect: no Log(...) expectation; every scenario states its own verdict \
                 (a scenario with application steps and without `negative` needs at least one Log and one ObjectCounts/ObjectCountsAt)"
                    .to_owned(),
            );
        }
        if !has_counts {
            return fail(
                "expect: no ObjectCounts(...)/ObjectCountsAt(...) expectation; every scenario states its own verdict \
                 (a scenario with application steps and without `negative` needs at least one Log and one ObjectCounts/ObjectCountsAt)"
                    .to_owned(),
            );
        }
    }
    Ok(())
}

/// `declared: a, b` or `none declared`.
fn listing<'a>(serials: impl Iterator<Item = &'a Serial>) -> String {
    let mut out = String::new();
    for serial in serials {
        out.push_str(if out.is_empty() { "declared: " } else { ", " });
        let _ = write!(out, "{serial}");
    }
    if out.is_empty() {
        out.push_str("none declared");
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS` by shape only: digits and separators in the right places.
fn is_timestamp_shape(text: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(byte, &want)| match want {
            b'd' => byte.is_ascii_digit(),
            separator => byte == separator,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::BTreeMap;

    use super::{LoadError, parse_str};
    use crate::scenario::ast::{
        AppOp, Auth, CallKind, Expect, Fault, HsmForm, KeyKind, NegativeInput, Scenario, Step,
    };
    use crate::scenario::serial::Serial;

    const FULL: &str = r#"Scenario(
    version: 1,
    name: "two members: drop one; objects made meanwhile are reintroduced on recovery",
    rules: ["B2", "B18", "B29"],
    portable: true,
    seed: 7,
    clock: (start: "2017-10-04 16:29:21", pid: 17469),
    credentials: (co: "fixture-co-password"),
    hsms: [ (serial: 900001, form: Network, firmware: "7.7.0", auth: Password, policies: {12: 1}) ],
    partitions: [
        (serial: 1234840370164, label: "par0", domain: "dom1"),
        (serial: "1234924189183", label: "par1", domain: "dom1", hsm: 900001, policies: {0: 0}, storage: 400000, co: "other-co", activated: true),
    ],
    setup: [ "hagroup creategroup -label haGroup1 -serialnumber 1234840370164" ],
    steps: [
        App(Initialize),
        App(OpenSession),
        App(Login),
        App(GenerateKey(label: "k1", kind: Aes256)),
        Checkpoint("before"),
        Fault(Drop(1234924189183)),
        App(CreateData(label: "d1")),
        App(Sign(key: "k1")),
        App(Encrypt(key: "k1", times: 3)),
        OnCall(member: "1234924189183", call: ImportClone, nth: 2, fault: Slow(member: 1234924189183, ms: 250)),
        At(60, Restore(1234924189183)),
        Advance(5),
        Command("hagroup listgroups"),
        App(CountObjects),
        Checkpoint("after"),
    ],
    negative: None,
    expect: [
        Log("HA group 1234840370164 has been recovered"),
        LogCount("some line", 2),
        NoLogContaining("error"),
        ObjectCounts({1234840370164: 2, "1234924189183": 2}),
        ObjectCountsAt("before", {1234840370164: 1, 1234924189183: 1}),
        AppErrors({"CKR_DEVICE_ERROR": 4}),
        Output("Command Result : No Error"),
    ],
)
"#;

    /// A minimal valid scenario; `{steps}` and `{expect}` are replaced by tests.
    const MINIMAL: &str = r#"Scenario(
    version: 1,
    name: "minimal",
    partitions: [(serial: 11, label: "a"), (serial: 22, label: "b")],
    steps: [STEPS],
    expect: [EXPECT],
)"#;

    const VERDICT: &str = r#"Log("line"), ObjectCounts({11: 0})"#;

    fn minimal(steps: &str, expect: &str) -> String {
        MINIMAL.replace("STEPS", steps).replace("EXPECT", expect)
    }

    fn error_text(text: &str) -> String {
        parse_str(text, "t.ron").unwrap_err().to_string()
    }

    #[test]
    fn full_example_parses() {
        let s: Scenario = parse_str(FULL, "full.ron").unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(s.rules, ["B2", "B18", "B29"]);
        assert!(s.portable);
        assert_eq!(s.seed, 7);
        assert_eq!(s.clock.start, "2017-10-04 16:29:21");
        assert_eq!(s.clock.pid, 17469);
        assert_eq!(s.credentials.co, "fixture-co-password");
        assert_eq!(s.hsms.len(), 1);
        assert_eq!(s.hsms[0].serial, Serial::from("900001"));
        assert_eq!(s.hsms[0].form, HsmForm::Network);
        assert_eq!(s.hsms[0].auth, Auth::Password);
        assert_eq!(s.hsms[0].policies, BTreeMap::from([(12, 1)]));
        let p0 = &s.partitions[0];
        assert_eq!(p0.serial, Serial::from("1234840370164"));
        assert_eq!(
            (p0.hsm.as_ref(), p0.storage, p0.co.as_ref()),
            (None, None, None)
        );
        assert!(p0.activated);
        let p1 = &s.partitions[1];
        assert_eq!(p1.hsm, Some(Serial::from("900001")));
        assert_eq!(p1.storage, Some(400_000));
        assert_eq!(p1.co.as_deref(), Some("other-co"));
        assert_eq!(s.setup.len(), 1);
        assert_eq!(s.steps.len(), 15);
        assert_eq!(
            s.steps[3],
            Step::App(AppOp::GenerateKey {
                label: "k1".into(),
                kind: KeyKind::Aes256
            })
        );
        assert_eq!(
            s.steps[6],
            Step::App(AppOp::CreateData {
                label: "d1".into(),
                size: 32
            })
        );
        assert_eq!(
            s.steps[9],
            Step::OnCall {
                member: Serial::from("1234924189183"),
                call: CallKind::ImportClone,
                nth: 2,
                fault: Fault::Slow {
                    member: Serial::from("1234924189183"),
                    ms: 250
                },
            }
        );
        assert_eq!(
            s.steps[10],
            Step::At(
                crate::scenario::Seconds::new(60).expect("in range"),
                Fault::Restore(Serial::from("1234924189183"))
            )
        );
        assert_eq!(s.negative, None);
        assert_eq!(
            s.expect[3],
            Expect::ObjectCounts(BTreeMap::from([
                (Serial::from("1234840370164"), 2),
                (Serial::from("1234924189183"), 2)
            ]))
        );
        assert_eq!(
            s.expect[5],
            Expect::AppErrors(BTreeMap::from([("CKR_DEVICE_ERROR".to_owned(), 4)]))
        );
    }

    #[test]
    fn call_counts_need_two_earlier_checkpoints_in_order() {
        let ok = minimal(
            r#"Checkpoint("a"), Checkpoint("b"), CallCounts("a", "b")"#,
            VERDICT,
        );
        assert!(parse_str(&ok, "t.ron").is_ok());
        let later = minimal(
            r#"Checkpoint("a"), CallCounts("a", "b"), Checkpoint("b")"#,
            VERDICT,
        );
        assert!(
            error_text(&later).contains(
                "CallCounts names checkpoint \"b\", which no earlier Checkpoint step records"
            ),
            "{}",
            error_text(&later)
        );
        let reversed = minimal(
            r#"Checkpoint("a"), Checkpoint("b"), CallCounts("b", "a")"#,
            VERDICT,
        );
        assert!(error_text(&reversed).contains("needs \"b\" recorded before \"a\""));
    }

    #[test]
    fn defaults_apply() {
        let s = parse_str(&minimal("", VERDICT), "t.ron").unwrap();
        assert_eq!(s.rules, Vec::<String>::new());
        assert!(!s.portable);
        assert_eq!(s.seed, 0);
        assert_eq!(s.clock.start, "2017-10-04 16:29:21");
        assert_eq!(s.clock.pid, 17469);
        assert_eq!(s.credentials.co, "hasim-fixture-co");
        assert!(s.hsms.is_empty() && s.setup.is_empty());
        let p = &s.partitions[0];
        assert_eq!(p.domain, "dom1");
        assert!(p.activated && p.policies.is_empty() && p.hsm.is_none());
    }

    #[test]
    fn hsm_defaults_apply() {
        let text =
            minimal("", VERDICT).replace("name: \"minimal\",", "name: \"m\", hsms: [(serial: 5)],");
        let s = parse_str(&text, "t.ron").unwrap();
        let h = &s.hsms[0];
        assert_eq!(
            (h.form, h.auth, h.firmware.as_str()),
            (HsmForm::Network, Auth::Password, "7.7.0")
        );
    }

    #[test]
    fn sign_and_encrypt_default_to_one_time() {
        let s = parse_str(
            &minimal(r#"App(Sign(key: "k")), App(Encrypt(key: "k"))"#, VERDICT),
            "t.ron",
        )
        .unwrap();
        assert_eq!(
            s.steps,
            [
                Step::App(AppOp::Sign {
                    key: "k".into(),
                    times: 1
                }),
                Step::App(AppOp::Encrypt {
                    key: "k".into(),
                    times: 1
                })
            ]
        );
    }

    #[test]
    fn slot_list_is_an_application_step() {
        let s = parse_str(&minimal("App(SlotList)", VERDICT), "t.ron").unwrap();
        assert_eq!(s.steps, [Step::App(AppOp::SlotList)]);
    }

    #[test]
    fn serial_int_and_string_are_equal() {
        let a = parse_str(&minimal("Fault(Drop(22))", VERDICT), "t.ron").unwrap();
        let b = parse_str(&minimal(r#"Fault(Drop("22"))"#, VERDICT), "t.ron").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.steps[0], Step::Fault(Fault::Drop(Serial::from("22"))));
    }

    #[test]
    fn fault_member_and_kind_name() {
        let slow = Fault::Slow {
            member: Serial::from("9"),
            ms: 1,
        };
        assert_eq!((slow.member().as_str(), slow.kind_name()), ("9", "Slow"));
        let added = Fault::MemberAdded(Serial::from("8"));
        assert_eq!(
            (added.member().as_str(), added.kind_name()),
            ("8", "MemberAdded")
        );
    }

    #[test]
    fn negative_case_without_some_and_without_verdict() {
        let text = minimal("", "").replace(
            "expect: [],",
            r#"negative: (input: Command("hagroup retry -count 501"), error: "exact error text"),"#,
        );
        let s = parse_str(&text, "t.ron").unwrap();
        let negative = s.negative.unwrap();
        assert_eq!(
            negative.input,
            NegativeInput::Command("hagroup retry -count 501".into())
        );
        assert_eq!(negative.error.as_deref(), Some("exact error text"));
    }

    #[test]
    fn credentials_are_hidden_from_debug() {
        let s = parse_str(FULL, "full.ron").unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("fixture-co-password"), "{debug}");
        assert!(!debug.contains("other-co"), "{debug}");
        assert!(debug.contains("<hidden>"));
    }

    #[test]
    fn string_where_integer_expected_points_at_the_string() {
        let text = "Scenario(\n    version: 1,\n    seed: \"7\",\n)";
        assert_eq!(error_text(text), "t.ron:3:11: Expected integer");
        let Err(LoadError::Syntax { line, col, .. }) = parse_str(text, "t.ron") else {
            panic!("expected a syntax error");
        };
        assert_eq!((line, col), (3, 11));
    }

    #[test]
    fn missing_comma_is_reported_where_the_next_field_starts() {
        let text = "Scenario(\n    version: 1,\n    name: \"x\"\n    partitions: [],\n)";
        assert_eq!(error_text(text), "t.ron:4:5: Expected comma");
    }

    #[test]
    fn unknown_field_is_named_with_alternatives() {
        let text = minimal("", VERDICT).replace("label: \"a\"", "label: \"a\", colour: 3");
        assert_eq!(
            error_text(&text),
            "t.ron:4:43: Unexpected field named `colour` in `PartitionDecl`, expected one of \
             `serial`, `label`, `domain`, `hsm`, `policies`, `storage`, `co`, `activated`, \
             `call_ms`, `v1`, `co_changed`, or `activation` instead"
        );
    }

    #[test]
    fn unknown_field_in_struct_variant_is_refused() {
        let text = minimal(r#"App(Sign(key: "k", tims: 2))"#, VERDICT);
        assert_eq!(
            error_text(&text),
            "t.ron:5:32: Unexpected field named `tims` in `Sign`, expected either `key` or `times` instead"
        );
    }

    #[test]
    fn missing_partitions_is_a_syntax_error() {
        let text = "Scenario(\n    version: 1,\n    name: \"x\",\n)";
        assert_eq!(
            error_text(text),
            "t.ron:4:1: Unexpected missing field named `partitions` in `Scenario`"
        );
    }

    #[test]
    fn version_2_is_refused() {
        let text = minimal("", VERDICT).replace("version: 1", "version: 2");
        assert_eq!(
            error_text(&text),
            "t.ron: unsupported scenario version 2 (this hasim reads version 1)"
        );
    }

    #[test]
    fn version_2_is_refused_even_when_the_rest_is_not_v1() {
        let text = "Scenario(version: 2, flavour: Spicy(3))";
        assert_eq!(
            error_text(text),
            "t.ron: unsupported scenario version 2 (this hasim reads version 1)"
        );
    }

    #[test]
    fn unknown_serial_in_a_step_is_refused() {
        let text = minimal("App(Initialize), Fault(Drop(99))", VERDICT);
        assert_eq!(
            error_text(&text),
            "t.ron: steps[1]: fault Drop names 99, which is not a declared partition (declared: 11, 22)"
        );
        let text = minimal(
            "OnCall(member: 99, call: Any, nth: 1, fault: Drop(11))",
            VERDICT,
        );
        assert_eq!(
            error_text(&text),
            "t.ron: steps[0]: OnCall member names 99, which is not a declared partition (declared: 11, 22)"
        );
        let text = minimal("At(5, Restore(\"011\"))", VERDICT);
        assert_eq!(
            error_text(&text),
            "t.ron: steps[0]: fault Restore names 011, which is not a declared partition (declared: 11, 22)"
        );
    }

    #[test]
    fn duplicate_partition_serial_is_refused() {
        let text = minimal("", VERDICT).replace(
            "(serial: 22, label: \"b\")",
            "(serial: \"11\", label: \"b\")",
        );
        assert_eq!(
            error_text(&text),
            "t.ron: partitions[1]: partition serial 11 is already declared by partitions[0]; partition serials must be unique"
        );
    }

    #[test]
    fn empty_partitions_are_refused() {
        let text = minimal("", VERDICT).replace(
            "[(serial: 11, label: \"a\"), (serial: 22, label: \"b\")]",
            "[]",
        );
        assert_eq!(
            error_text(&text),
            "t.ron: partitions: at least one partition must be declared"
        );
    }

    #[test]
    fn duplicate_hsm_and_undeclared_hsm_are_refused() {
        let text = minimal("", VERDICT).replace(
            "name: \"minimal\",",
            "name: \"m\", hsms: [(serial: 5), (serial: 5)],",
        );
        assert_eq!(
            error_text(&text),
            "t.ron: hsms[1]: HSM serial 5 is already declared by hsms[0]; HSM serials must be unique"
        );
        let text = minimal("", VERDICT).replace("label: \"b\"", "label: \"b\", hsm: 6");
        assert_eq!(
            error_text(&text),
            "t.ron: partitions[1].hsm: HSM 6 is not declared in hsms (none declared)"
        );
    }

    #[test]
    fn on_call_nth_zero_is_refused() {
        let text = minimal(
            "App(Initialize), App(Login), OnCall(member: 22, call: ImportClone, nth: 0, fault: Drop(22))",
            VERDICT,
        );
        assert_eq!(
            error_text(&text),
            "t.ron: steps[2]: OnCall nth is 0; calls are counted from 1 (nth >= 1)"
        );
    }

    #[test]
    fn missing_verdict_is_refused() {
        assert_eq!(
            error_text(&minimal("App(Initialize)", "ObjectCounts({11: 0})")),
            "t.ron: expect: no Log(...) expectation; every scenario states its own verdict \
             (a scenario with application steps and without `negative` needs at least one Log and one ObjectCounts/ObjectCountsAt)"
        );
        assert_eq!(
            error_text(&minimal("App(Initialize)", "Log(\"x\"), NoAppErrors")),
            "t.ron: expect: no ObjectCounts(...)/ObjectCountsAt(...) expectation; every scenario \
             states its own verdict (a scenario with application steps and without `negative` needs at least one Log and one \
             ObjectCounts/ObjectCountsAt)"
        );
        // Admin only (no application step): what LunaCM printed is a verdict on its own (1.1).
        assert!(
            parse_str(
                &minimal("Command(\"slot list\")", "OutputContains(\"Slot Id\")"),
                "t.ron"
            )
            .is_ok()
        );
        assert_eq!(
            error_text(&minimal("Command(\"slot list\")", "NoAppErrors")),
            "t.ron: expect: no Output(...)/OutputContains(...) expectation; every scenario states its own verdict \
             (an admin-only scenario needs at least one Output or OutputContains)"
        );
    }

    #[test]
    fn a_positional_fault_written_with_a_field_name_is_explained() {
        let e = error_text(&minimal("Fault(Drop(member: 11))", VERDICT));
        assert!(
            e.ends_with("(the fault Drop takes the member's serial alone: write Drop(1234840370164), not Drop(member: 1234840370164); only Slow names its fields)"),
            "{e}"
        );
    }

    #[test]
    fn vacuous_expectations_are_refused_with_the_reason() {
        for (expect, message) in [
            (
                "Log(\"\")",
                "expect[0]: Log(\"\") is vacuous (no HA log line is empty); state what must hold",
            ),
            (
                "ObjectCounts({})",
                "expect[0]: ObjectCounts({}) is vacuous (it names no member); state what must hold",
            ),
            (
                "Output(\"\")",
                "expect[0]: Output(\"\") is vacuous (a blank line or the empty text is always there); state what must hold",
            ),
            (
                "OutputContains(\"\")",
                "expect[0]: OutputContains(\"\") is vacuous (a blank line or the empty text is always there); state what must hold",
            ),
            (
                "NoLogContaining(\"\")",
                "expect[0]: NoLogContaining(\"\") is vacuous (every line contains the empty text); state what must hold",
            ),
        ] {
            assert_eq!(
                error_text(&minimal("", expect)),
                format!("t.ron: {message}")
            );
        }
        let text = minimal("", "").replace(
            "expect: [],",
            r#"negative: (input: Command("x"), error_contains: ""),"#,
        );
        assert_eq!(
            error_text(&text),
            "t.ron: negative: an empty refusal text is vacuous (every refusal matches it); state what must hold"
        );
        let text = minimal("", "").replace(
            "expect: [],",
            r#"negative: (input: Command("x"), error: "a", error_contains: "b"),"#,
        );
        assert_eq!(
            error_text(&text),
            "t.ron: negative: give error (the exact refusal) or error_contains (a part of it), not both"
        );
    }

    #[test]
    fn limits_are_refused_with_their_place() {
        for (step, message) in [
            (
                "App(Sign(key: \"k\", times: 10000001))",
                "steps[0]: Sign times 10000001 is over the limit of 10000000 calls",
            ),
            (
                "App(CreateData(label: \"d\", size: 4294967295))",
                "steps[0]: CreateData size 4294967295 is over the limit of 1048576 bytes",
            ),
            (
                "App(SignUpdate(size: 1048577))",
                "steps[0]: SignUpdate size 1048577 is over the limit of 1048576 bytes",
            ),
            (
                "Threads(threads: [[Sign(key: \"k\", times: 6000000)], [Encrypt(key: \"k\", times: 6000000)]])",
                "steps[0]: Threads makes 12000000 calls in all; at most 10000000 (limit)",
            ),
        ] {
            assert_eq!(
                error_text(&minimal(step, VERDICT)),
                format!("t.ron: {message}")
            );
        }
    }

    #[test]
    fn object_counts_at_needs_a_recorded_checkpoint() {
        let ok = minimal(
            "Checkpoint(\"c\")",
            "Log(\"x\"), ObjectCountsAt(\"c\", {22: 1})",
        );
        assert!(parse_str(&ok, "t.ron").is_ok());
        assert_eq!(
            error_text(&minimal(
                "Checkpoint(\"c\")",
                "Log(\"x\"), ObjectCountsAt(\"d\", {22: 1})"
            )),
            "t.ron: expect[1]: ObjectCountsAt names checkpoint \"d\", which no Checkpoint step records"
        );
        assert_eq!(
            error_text(&minimal("Checkpoint(\"c\"), Checkpoint(\"c\")", VERDICT)),
            "t.ron: steps[1]: checkpoint \"c\" is already recorded by steps[0]; checkpoint labels must be unique"
        );
    }

    #[test]
    fn object_counts_name_declared_partitions() {
        assert_eq!(
            error_text(&minimal("", "Log(\"x\"), ObjectCounts({11: 0, 33: 1})")),
            "t.ron: expect[1]: an object count names 33, which is not a declared partition (declared: 11, 22)"
        );
    }

    #[test]
    fn clock_shape_and_empty_credentials_are_refused() {
        let text = minimal("", VERDICT).replace(
            "name: \"minimal\",",
            "name: \"m\", clock: (start: \"2017-10-4 16:29:21\"),",
        );
        assert_eq!(
            error_text(&text),
            "t.ron: clock.start: \"2017-10-4 16:29:21\" does not have the shape YYYY-MM-DD HH:MM:SS"
        );
        let text =
            minimal("", VERDICT).replace("name: \"minimal\",", "name: \"m\", clock: (pid: 1),");
        assert_eq!(
            parse_str(&text, "t.ron").unwrap().clock.start,
            "2017-10-04 16:29:21"
        );
        let text = minimal("", VERDICT).replace(
            "name: \"minimal\",",
            "name: \"m\", credentials: (co: \"\"),",
        );
        assert_eq!(
            error_text(&text),
            "t.ron: credentials.co: the CO password must not be empty"
        );
        let text = minimal("", VERDICT).replace("label: \"a\"", "label: \"a\", co: \"\"");
        assert_eq!(
            error_text(&text),
            "t.ron: partitions[0].co: the CO password must not be empty"
        );
    }

    #[test]
    fn processes_and_in_steps_are_checked() {
        let with = |processes: &str, steps: &str, expect: &str| {
            minimal(steps, expect).replace(
                "name: \"minimal\",",
                &format!("name: \"m\", processes: [{processes}],"),
            )
        };
        let ok = with(
            r#"(name: "p2", pid: 2, order: [22, 11])"#,
            r#"In("p2", OpenSession), In("main", Login)"#,
            VERDICT,
        );
        let s = parse_str(&ok, "t.ron").unwrap();
        assert_eq!(s.processes[0].machine, "client1");
        assert_eq!(
            error_text(&with("", r#"In("p2", OpenSession)"#, VERDICT)),
            "t.ron: steps[0]: In names process \"p2\", which is not declared in `processes` (nor `main`)"
        );
        assert_eq!(
            error_text(&with(r#"(name: "main", pid: 2)"#, "", VERDICT)),
            "t.ron: processes[0]: process name \"main\" is `main` or already taken; names must be unique"
        );
        assert_eq!(
            error_text(&with(
                r#"(name: "p2", pid: 2, order: [11, 11])"#,
                "",
                VERDICT
            )),
            "t.ron: processes[0]: order must list every declared partition once (declared: 11, 22)"
        );
        assert_eq!(
            error_text(&with(
                "",
                "App(OpenSession)",
                r#"Log("line"), ObjectCounts({11: 0}), Diverged("doc")"#
            )),
            "t.ron: expect[2]: Diverged(\"doc\") needs a Fingerprints(\"doc\") step to read"
        );
        let many = vec![r#"(name: "p", pid: 2)"#; 65]
            .iter()
            .enumerate()
            .map(|(i, p)| p.replace("\"p\"", &format!("\"p{i}\"")))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            error_text(&with(&many, "", VERDICT)),
            "t.ron: processes: 65 processes; at most 64 (limit)"
        );
        let value = "v".repeat(1_048_577);
        assert_eq!(
            error_text(&with(
                "",
                &format!(r#"App(UpdateData(label: "d", value: "{value}"))"#),
                VERDICT
            )),
            "t.ron: steps[0]: UpdateData value 1048577 is over the limit of 1048576 bytes"
        );
    }

    #[test]
    fn invalid_with_a_position_displays_it() {
        let e = LoadError::Invalid {
            file: "f.ron".into(),
            line: Some(3),
            col: Some(4),
            message: "m".into(),
        };
        assert_eq!(e.to_string(), "f.ron:3:4: m");
    }

    #[test]
    fn serialized_scenario_reads_back() {
        let s = parse_str(FULL, "full.ron").unwrap();
        let text = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .to_string(&s)
            .unwrap();
        assert_eq!(parse_str(&text, "again.ron").unwrap(), s);
    }
}
