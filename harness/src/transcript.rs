//! The transcript: the plain text a snapshot holds, rendered from a run's [`Record`] and from
//! nothing else ([`render`] is a pure function). Each line is stamped with virtual time; HA log
//! lines appear byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ha_engine::Ckr;
use ha_engine::ports::Millis;
use sim::record::{
    Action, Call, CallRun, ConfEvent, EngineView, Event, FaultEvent, FaultTiming, Header,
    Placement, Record, Section, Stamped, ThreadCall,
};

/// Renders milliseconds as seconds with three decimals.
pub fn seconds(ms: Millis) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

const PAD: &str = "             ";

/// `1 byte`, `2 bytes`.
pub fn counted(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Which view of a run to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Everything the record holds (what snapshots hold).
    Full,
    /// What every backend can know (`hasim differential` compares it): the transcript without
    /// storage figures and without the backend binding; fingerprints as `#1`, `#2`, ... in
    /// order of appearance (equal contents, equal numbers).
    Portable,
}

/// The transcript of a run, as snapshotted. Control characters (other than line ends) are
/// shown escaped ([`lunacm::printable`]).
pub fn render(record: &Record) -> String {
    render_view(record, View::Full)
}

/// The portable view of a run (see [`View::Portable`]).
pub fn render_portable(record: &Record) -> String {
    render_view(record, View::Portable)
}

/// The transcript in the given view.
pub fn render_view(record: &Record, view: View) -> String {
    let mut out = String::new();
    header(&mut out, &record.header, view);
    let mut i = 0;
    while i < record.events.len() {
        let Stamped { at, event } = &record.events[i];
        if let Event::Calls(run) = event {
            // Consecutive runs of one operation with contiguous numbers make one line.
            let mut group = vec![run];
            while let Some(Stamped {
                event: Event::Calls(next),
                ..
            }) = record.events.get(i + group.len())
            {
                let last = group[group.len() - 1];
                if next.op != last.op || next.first != last.first + last.count {
                    break;
                }
                group.push(next);
            }
            i += group.len();
            call_runs(&mut out, &group);
            continue;
        }
        event_lines(&mut out, *at, event, view);
        i += 1;
    }
    // Whatever a scenario or a user typed reaches a terminal escaped, never raw (ESC, NUL).
    let escaped = match lunacm::printable::escape_lines(&out) {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(escaped) => Some(escaped),
    };
    escaped.unwrap_or(out)
}

fn header(out: &mut String, h: &Header, view: View) {
    let rules = if h.rules.is_empty() {
        "(none)".to_string()
    } else {
        h.rules.join(" ")
    };
    let _ = writeln!(out, "scenario: {}", h.scenario);
    let _ = writeln!(out, "rules: {rules}");
    let _ = writeln!(out, "seed: {} ({})", h.seed, h.generator);
    let _ = writeln!(out, "clock: {}, pid {}", h.clock_start, h.pid);
    let _ = writeln!(out, "slots: {}", h.slots.join(", "));
    if view == View::Full {
        for b in &h.binding {
            let _ = writeln!(out, "binding: {b}");
        }
    }
}

/// A line's time stamp, `[{seconds:>10}]` (what `format!("[{:>10}]", seconds(at))` gives),
/// written into a stack buffer: the transcript stamps every line, so no allocation per line.
struct Stamp {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only ASCII digits, '.', ' ', '[' and ']' are ever written.
        f.write_str(std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default())
    }
}

fn stamp(at: Millis) -> Stamp {
    // `{secs}.{ms:03}` right to left, then padded to 10 characters on the left.
    let mut digits = [0u8; 30];
    let mut n = digits.len();
    let mut ms = at % 1000;
    for _ in 0..3 {
        n -= 1;
        digits[n] = b'0' + (ms % 10) as u8;
        ms /= 10;
    }
    n -= 1;
    digits[n] = b'.';
    let mut secs = at / 1000;
    loop {
        n -= 1;
        digits[n] = b'0' + (secs % 10) as u8;
        secs /= 10;
        if secs == 0 {
            break;
        }
    }
    let text = &digits[n..];
    let mut buf = [b' '; 32];
    buf[0] = b'[';
    let pad = 10usize.saturating_sub(text.len());
    buf[1 + pad..1 + pad + text.len()].copy_from_slice(text);
    let len = 1 + pad + text.len();
    buf[len] = b']';
    Stamp { buf, len: len + 1 }
}

/// A line with the time stamp, then continuation lines indented under it.
fn note(out: &mut String, at: Millis, lines: &[String]) {
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "{} {l}", stamp(at));
        } else {
            let _ = writeln!(out, "{PAD}{l}");
        }
    }
}

fn event_lines(out: &mut String, at: Millis, event: &Event, view: View) {
    let stamp = stamp(at);
    match event {
        Event::Section(section) => {
            let title = match section {
                Section::Setup => "setup",
                Section::Steps => "steps",
                Section::NegativeCase => "negative case",
                Section::End => "end",
            };
            let _ = writeln!(out, "\n== {title}");
        }
        Event::Command(c) => {
            let _ = writeln!(out, "{stamp} > {}", c.line);
            for l in c.output.lines() {
                if l.is_empty() {
                    let _ = writeln!(out);
                } else {
                    let _ = writeln!(out, "{PAD}{l}");
                }
            }
        }
        Event::Call(call) => {
            let _ = writeln!(out, "{stamp} app   {}", call_text(call));
        }
        Event::Calls(run) => call_runs(out, &[run]),
        Event::React(react) => {
            let _ = writeln!(out, "{stamp} react {}", react.text);
        }
        Event::ThreadsStarted { threads, calls } => {
            let _ = writeln!(
                out,
                "{stamp} app   {threads} threads start ({calls} calls in all)"
            );
        }
        Event::ThreadCall(ThreadCall {
            thread,
            op,
            index,
            result,
            started,
            finished,
            placement: Some(placement),
            ..
        }) => {
            let _ = writeln!(
                out,
                "{stamp} app   thread {thread} {op} #{index} -> {result}  [{} .. {}]{}",
                seconds(*started),
                seconds(*finished),
                placement_note(placement),
            );
        }
        Event::ThreadCall(t) => {
            let served = if t.members.is_empty() {
                "none".to_string()
            } else {
                t.members.join(" then ")
            };
            let _ = writeln!(
                out,
                "{stamp} app   thread {} {} #{} -> {}  [{} .. {}, served by {served}]",
                t.thread,
                t.op,
                t.index,
                t.result,
                seconds(t.started),
                seconds(t.finished),
            );
        }
        Event::Objects(counts) => {
            let text: Vec<String> = counts.iter().map(|(s, n)| format!("{s}={n}")).collect();
            let _ = writeln!(out, "{stamp} app   CountObjects -> {}", text.join(" "));
        }
        Event::CallCounts { from, to, members } => {
            let mut lines = vec![format!(
                "calls between \"{from}\" and \"{to}\" (every call that reached each member)"
            )];
            for (serial, kinds) in members {
                let total: u64 = kinds.values().sum();
                let mut line = format!("{serial:>16}  calls {total:>4}");
                for (kind, n) in kinds {
                    let _ = write!(line, "  {kind} {n}");
                }
                lines.push(line);
            }
            note(out, at, &lines);
        }
        Event::Fingerprints { label, members } => {
            // A key's fingerprint differs between backends (its material is the token's own):
            // the portable view names each distinct content by its order of appearance.
            let mut seen: Vec<&str> = Vec::new();
            let text: Vec<String> = members
                .iter()
                .map(|(s, f)| match (f.as_deref(), view) {
                    (None, _) => format!("{s}=-"),
                    (Some(f), View::Full) => format!("{s}={f}"),
                    (Some(f), View::Portable) => {
                        let n = match seen.iter().position(|x| *x == f) {
                            Some(i) => i + 1,
                            None => {
                                seen.push(f);
                                seen.len()
                            }
                        };
                        format!("{s}=#{n}")
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "{stamp} app   Fingerprints({label}) -> {}",
                text.join(" ")
            );
        }
        Event::SlotList(slots) => {
            let plural = if slots.len() == 1 { "" } else { "s" };
            let mut lines = vec![format!(
                "app   C_GetSlotList -> {} slot{plural}",
                slots.len()
            )];
            lines.extend(slots.iter().map(|s| format!("      {s}")));
            note(out, at, &lines);
        }
        Event::Fault(f) => {
            let _ = writeln!(out, "{stamp} fault {}", fault_text(f));
        }
        Event::Log(line) => {
            let _ = writeln!(out, "{stamp} log   {line}");
        }
        Event::Orphan { member, id, label } => {
            let _ = writeln!(
                out,
                "{stamp} note  orphan {id} ({label}) on {member}: its creation's answer was lost; destroyed, not adopted as a second copy (D37)"
            );
        }
        Event::Rotated { from, to } => {
            let _ = writeln!(out, "{stamp} file  rotated {from} -> {to}");
        }
        Event::Conf(ConfEvent::Loaded { origin, lines }) => {
            let _ = writeln!(out, "{stamp} file  {origin} loaded ({lines} lines)");
        }
        Event::Conf(ConfEvent::Edited {
            origin,
            lines,
            recovery,
        }) => {
            let mut line = format!("{origin} edited by the operator ({lines} lines)");
            for (label, old, new) in recovery {
                let _ = write!(
                    line,
                    "; [HARecovery] {label} {old} -> {new}: manual recovery requested (B45)"
                );
            }
            let _ = writeln!(out, "{stamp} file  {line}");
        }
        Event::Checkpoint(c) => {
            let mut lines = vec![format!("checkpoint \"{}\"", c.label)];
            for m in &c.members {
                let engine = match m.engine {
                    EngineView::NotApplicable => "-",
                    EngineView::Alive => "alive",
                    EngineView::Down => "down",
                };
                let storage = match view {
                    View::Full => format!("  used {:>7}  free {:>7}", m.used, m.free),
                    View::Portable => String::new(),
                };
                lines.push(format!(
                    "{:>16}  objects {:>3}{storage}  engine {engine:<5}  served sign {} encrypt {}",
                    m.serial, m.objects, m.served_sign, m.served_encrypt,
                ));
            }
            note(out, at, &lines);
        }
        Event::Refusal { what, refusal } => {
            let text = format!("{what} -> {}", refusal.as_deref().unwrap_or("accepted"));
            note(out, at, &[text]);
        }
        Event::Negative(n) => {
            let same = if n.state_before == n.state_after {
                "yes"
            } else {
                "NO"
            };
            note(
                out,
                at,
                &[format!(
                    "state (listgroups, object counts, configuration file) unchanged: {same}"
                )],
            );
        }
        Event::Aborted(reason) => note(out, at, &[format!("ABORTED: {reason}")]),
        Event::NotRun { step, reason } => {
            let _ = writeln!(
                out,
                "{stamp} note  {step} not run: {reason}; the run goes on (D79)"
            );
        }
        // Exploration's witness data: for the invariant checker, not the reader.
        Event::Holders { .. }
        | Event::Holdings { .. }
        | Event::Changed { .. }
        | Event::MemberFailed { .. }
        | Event::AnswerLost { .. }
        | Event::ThreadSession { .. }
        | Event::RunnerCallMade(_)
        | Event::ScheduledFaultApplied { .. }
        | Event::RecoveryBusy { .. } => {}
        Event::End(end) => {
            let mut lines = vec!["end".to_string()];
            for (serial, n) in &end.counts {
                lines.push(format!("{serial:>16}  objects {n:>3}"));
            }
            // After a rotation (B64) every file is shown whole, so a snapshot proves that no
            // record was lost or split.
            let rotated = end.files.len() > 1;
            for f in &end.files {
                lines.push(format!(
                    "file {}: {}, {}",
                    f.path,
                    counted(f.contents.len(), "byte"),
                    counted(f.contents.lines().count(), "line")
                ));
                if rotated {
                    lines.extend(f.contents.lines().map(|l| format!("  | {l}")));
                }
            }
            note(out, at, &lines);
        }
        Event::ConfFile { name, text } => {
            let _ = writeln!(out, "\n== {name}");
            for l in text.lines() {
                let _ = writeln!(out, "{l}");
            }
        }
    }
}

fn call_text(call: &Call) -> String {
    format!(
        "{} -> {}{}",
        call.op,
        call.result,
        placement_note(&call.placement)
    )
}

/// Where a call went, as a note after its result (empty when not observed).
fn placement_note(placement: &Placement) -> String {
    match placement {
        Placement::Unobserved => String::new(),
        Placement::Created { on, cloned_to } if !on.is_empty() => {
            let cloned = if cloned_to.is_empty() {
                "none".to_string()
            } else {
                cloned_to.join(", ")
            };
            format!("  [created on {}; cloned to {cloned}]", on.join(", "))
        }
        Placement::Created { .. } => String::new(),
        Placement::On(members) if !members.is_empty() => {
            format!("  [on {}]", members.join(", "))
        }
        Placement::On(_) => String::new(),
    }
}

/// One line for consecutive runs of one operation: `Sign(k1) #1-4 -> CKR_OK x3,
/// CKR_DEVICE_ERROR x1  [served by A x2, B x1]`, stamped when the last call returned.
fn call_runs(out: &mut String, group: &[&CallRun]) {
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return;
    };
    let range = if first.first == last.last() {
        format!("#{}", first.first)
    } else {
        format!("#{}-{}", first.first, last.last())
    };
    let results: Vec<String> = group
        .iter()
        .map(|r| format!("{} x{}", r.result, r.count))
        .collect();
    let mut served: BTreeMap<&str, u64> = BTreeMap::new();
    for run in group {
        for (serial, n) in &run.served {
            *served.entry(serial.as_str()).or_insert(0) += n;
        }
    }
    let served: Vec<String> = served
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(serial, n)| format!("{serial} x{n}"))
        .collect();
    let served = if served.is_empty() {
        String::new()
    } else {
        format!("  [served by {}]", served.join(", "))
    };
    let _ = writeln!(
        out,
        "{} app   {} {range} -> {}{served}",
        stamp(last.last_at),
        first.op,
        results.join(", ")
    );
}

fn fault_text(f: &FaultEvent) -> String {
    let name = f.action.name();
    match &f.timing {
        FaultTiming::Now => match &f.action {
            Action::Fault(sim::fault::Fault::Slow { ms }) => {
                format!("Slow {} {ms} ms per call", f.member)
            }
            Action::Fault(sim::fault::Fault::DirectChange { label, value }) => format!(
                "DirectChange {}: another application set the value of {label} to {value:?} there, outside the group",
                f.member
            ),
            _ => format!("{name} {}", f.member),
        },
        FaultTiming::Armed { call, nth } => {
            format!(
                "armed {name} {} at its call #{nth} of kind {call:?}",
                f.member
            )
        }
        FaultTiming::Fired { call, nth } => format!(
            "{name} {} fired (armed for its call #{nth} of kind {call:?})",
            f.member
        ),
        FaultTiming::Scheduled(at) => format!(
            "{name} {} scheduled at {} during the threads",
            f.member,
            seconds(*at)
        ),
    }
}

/// The result of an engine call as the application sees it.
pub fn result_of<T>(result: &Result<T, ha_engine::EngineError>) -> Ckr {
    match result {
        Ok(_) => Ckr::CKR_OK,
        Err(e) => e.rv,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_match_the_formatted_seconds() {
        let mut at: Millis = 0;
        let mut samples = vec![u64::MAX, u64::MAX / 7, 9_999_999_999, 10_000_000_000];
        while at < 100_000_000_000 {
            samples.push(at);
            at = at * 3 + 7;
        }
        samples.extend(0..2_100);
        for at in samples {
            assert_eq!(
                stamp(at).to_string(),
                format!("[{:>10}]", seconds(at)),
                "{at}"
            );
        }
    }

    /// The rendered lines after the transcript's five header lines.
    fn body(r: &Record) -> Vec<String> {
        render(r).lines().skip(5).map(str::to_string).collect()
    }

    #[test]
    fn log_lines_stand_byte_for_byte() {
        let mut r = Record::default();
        let line = "Wed Oct  4 16:29:31 2017 : [17469] HA group: 11 has dropped member: 2";
        r.push(10_000, Event::Log(line.into()));
        let text = render(&r);
        assert!(
            text.ends_with(&format!("[    10.000] log   {line}\n")),
            "{text}"
        );
        assert_eq!(seconds(1_234_567), "1234.567");
    }

    #[test]
    fn runs_of_one_operation_make_one_line_until_another_event() {
        let mut r = Record::default();
        let served = |s: &'static str| [(s, 1)];
        r.repeated_call(0, "Sign(k)", 1, Ckr::CKR_OK, served("a"));
        r.repeated_call(1, "Sign(k)", 2, Ckr::CKR_OK, served("b"));
        r.repeated_call(2, "Sign(k)", 3, Ckr::CKR_DEVICE_ERROR, []);
        r.repeated_call(3_000, "Sign(k)", 4, Ckr::CKR_OK, served("a"));
        r.push(3_000, Event::Log("L".into()));
        r.repeated_call(4_000, "Sign(k)", 5, Ckr::CKR_OK, served("a"));
        assert_eq!(
            body(&r),
            [
                "[     3.000] app   Sign(k) #1-4 -> CKR_OK x2, CKR_DEVICE_ERROR x1, CKR_OK x1  [served by a x2, b x1]",
                "[     3.000] log   L",
                "[     4.000] app   Sign(k) #5 -> CKR_OK x1  [served by a x1]",
            ]
        );
    }

    #[test]
    fn the_portable_view_numbers_fingerprints_by_distinct_content() {
        let mut r = Record::default();
        let f = |s: &str| Some(s.to_string());
        r.push(
            0,
            Event::Fingerprints {
                label: "doc".into(),
                members: vec![
                    ("a".into(), f("77")),
                    ("b".into(), None),
                    ("c".into(), f("12")),
                    ("d".into(), f("77")),
                ],
            },
        );
        let line = |view| {
            render_view(&r, view)
                .lines()
                .find(|l| l.contains("Fingerprints"))
                .map(str::to_string)
        };
        assert_eq!(
            line(View::Full).as_deref(),
            Some("[     0.000] app   Fingerprints(doc) -> a=77 b=- c=12 d=77")
        );
        assert_eq!(
            line(View::Portable).as_deref(),
            Some("[     0.000] app   Fingerprints(doc) -> a=#1 b=- c=#2 d=#1")
        );
    }

    #[test]
    fn call_counts_name_each_kind_with_calls() {
        let mut r = Record::default();
        r.push(
            0,
            Event::CallCounts {
                from: "a".into(),
                to: "b".into(),
                members: vec![
                    (
                        "11".into(),
                        BTreeMap::from([
                            (sim::fault::CallKind::Sign, 50),
                            (sim::fault::CallKind::Encrypt, 5),
                        ]),
                    ),
                    ("22".into(), BTreeMap::new()),
                ],
            },
        );
        assert_eq!(
            body(&r),
            [
                "[     0.000] calls between \"a\" and \"b\" (every call that reached each member)",
                "                           11  calls   55  Sign 50  Encrypt 5",
                "                           22  calls    0",
            ]
        );
    }
}
