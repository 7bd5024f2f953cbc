//! Every HA log line in every snapshot follows the spec's templates to the character: a
//! ctime-style date (`Www Mmm dd HH:MM:SS YYYY`, the day space-padded), ` : [pid] HA group:
//! <serial> `, then one of the catalogue's messages with its placeholders filled in.

use std::path::{Path, PathBuf};

use ha_engine::log::CATALOGUE;

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the B63 prefix and returns the message after it.
fn strip_prefix(line: &str) -> Result<&str, String> {
    let bad = |what: &str| Err(format!("{what}: {line:?}"));
    if line.len() < 25 || !line.is_char_boundary(24) {
        return bad("too short for a ctime date");
    }
    let (date, rest) = line.split_at(24);
    let b = date.as_bytes();
    let (day_of_week, month) = (&date[0..3], &date[4..7]);
    if !DAYS.contains(&day_of_week) || !MONTHS.contains(&month) || b[3] != b' ' || b[7] != b' ' {
        return bad("weekday or month");
    }
    // %e: a one-digit day is space-padded (`Oct  4`), never zero-padded.
    let day_ok = match (b[8], b[9]) {
        (b' ', d) => (b'1'..=b'9').contains(&d),
        (t, d) => (b'1'..=b'3').contains(&t) && d.is_ascii_digit(),
    };
    let time = &date[11..19];
    let time_ok = time.len() == 8
        && digits(&time[0..2])
        && &time[2..3] == ":"
        && digits(&time[3..5])
        && &time[5..6] == ":"
        && digits(&time[6..8]);
    if !day_ok || b[10] != b' ' || !time_ok || b[19] != b' ' || !digits(&date[20..24]) {
        return bad("day, time or year");
    }
    let Some(rest) = rest.strip_prefix(" : [") else {
        return bad("' : [' after the date");
    };
    let Some((pid, rest)) = rest.split_once("] HA group: ") else {
        return bad("'] HA group: '");
    };
    let Some((serial, message)) = rest.split_once(' ') else {
        return bad("group serial");
    };
    if !digits(pid) || !digits(serial) || !serial.starts_with('1') {
        return bad("pid or group serial (B2: \"1\" + primary)");
    }
    Ok(message)
}

/// Template text after `<MessagePrefix> `, cut into literals and placeholders.
fn parts(template: &str) -> Vec<Result<String, ()>> {
    let body = template
        .trim_start_matches("<MessagePrefix> ")
        .trim_end_matches("\\n");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        if start > 0 {
            out.push(Ok(rest[..start].to_string()));
        }
        let end = rest[start..]
            .find('>')
            .map_or(rest.len(), |e| start + e + 1);
        out.push(Err(()));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(Ok(rest.to_string()));
    }
    out
}

/// Literals must match exactly; a placeholder is one or more characters without a space.
fn matches(parts: &[Result<String, ()>], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((Ok(literal), rest)) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|t| matches(rest, t)),
        Some((Err(()), rest)) => {
            let word = text.find(' ').unwrap_or(text.len());
            (1..=word).any(|n| text.is_char_boundary(n) && matches(rest, &text[n..]))
        }
    }
}

fn snapshots(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            snapshots(&path, out);
        } else if path.extension().is_some_and(|e| e == "snap") {
            out.push(path);
        }
    }
}

#[test]
fn every_log_line_in_every_snapshot_follows_a_template() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("snapshots");
    let mut files = Vec::new();
    snapshots(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no snapshots under {}", root.display());
    let templates: Vec<_> = CATALOGUE
        .iter()
        .map(|t| (t.id, parts(t.template)))
        .collect();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable snapshot");
        for (n, line) in text.lines().enumerate() {
            // Log lines in the transcript, and lines of rotated files shown whole.
            let log = line
                .split_once("] log   ")
                .map(|(_, l)| l)
                .or_else(|| line.trim_start().strip_prefix("| "));
            let Some(log) = log else {
                continue;
            };
            checked += 1;
            let verdict = strip_prefix(log).and_then(|message| {
                templates
                    .iter()
                    .find(|(_, p)| matches(p, message))
                    .map(|_| ())
                    .ok_or_else(|| format!("no template matches {message:?}"))
            });
            if let Err(e) = verdict {
                wrong.push(format!("{}:{}: {e}", file.display(), n + 1));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} HA log lines found in the snapshots"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_refuses_what_the_templates_do_not_allow() {
    let ok = "Wed Oct  4 16:29:31 2017 : [17469] HA group: 11234840370164 has dropped member: 12";
    assert_eq!(strip_prefix(ok), Ok("has dropped member: 12"));
    // A zero-padded day is not ctime.
    assert!(strip_prefix(&ok.replace("Oct  4", "Oct 04")).is_err());
    // Two spaces between prefix and message (D15 says one) leave a message no template has.
    let dropped = parts("<MessagePrefix> has dropped member: <SerialNumber>");
    assert!(matches(&dropped, "has dropped member: 12"));
    assert!(!matches(&dropped, " has dropped member: 12"));
    assert!(!matches(&dropped, "has dropped member: "));
    let failed = parts(
        "<MessagePrefix> recovery attempt <Integer> failed for member: <SerialNumber>. Code: <ErrorCodeHex> : <ErrorCodeString>.",
    );
    assert!(matches(
        &failed,
        "recovery attempt 2 failed for member: 9. Code: 0x30 : CKR_DEVICE_ERROR."
    ));
    // The final period of that template is part of it.
    assert!(!matches(
        &failed,
        "recovery attempt 2 failed for member: 9. Code: 0x30 : CKR_DEVICE_ERROR"
    ));
}
