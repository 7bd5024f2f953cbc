//! The imported scenario as a RON file: readable, commented with the log line behind each
//! step, and loadable by `hasim run` (the importer reads its own output back before using it).
//! Its expectations are the real log's lines, so `hasim run` on it fails exactly where the
//! model and the real client disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::plan::{Plan, serial};

/// What the file says about where it came from.
pub struct Origin<'a> {
    /// The scenario's name.
    pub name: &'a str,
    /// The clock start, `YYYY-MM-DD HH:MM:SS`.
    pub start: &'a str,
    /// The process id.
    pub pid: u32,
    /// Header comment lines (without `// `).
    pub comments: &'a [String],
}

/// A RON string literal.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The scenario file: the plan, the real log's lines as `Log` expectations, and object counts
/// (hasim's own prediction: a log does not record them).
pub fn scenario(
    origin: &Origin<'_>,
    plan: &Plan,
    expected: &[&str],
    counts: &BTreeMap<String, u64>,
) -> String {
    let mut out = String::new();
    for c in origin.comments {
        let _ = writeln!(out, "// {c}");
    }
    let _ = writeln!(out, "Scenario(");
    let _ = writeln!(out, "    version: 1,");
    let _ = writeln!(out, "    name: {},", string(origin.name));
    let _ = writeln!(
        out,
        "    clock: (start: {}, pid: {}),",
        string(origin.start),
        origin.pid
    );
    let _ = writeln!(out, "    partitions: [");
    for (i, p) in plan.partitions.iter().enumerate() {
        let _ = writeln!(out, "        (serial: {}, label: \"par{i}\"),", serial(p));
    }
    let _ = writeln!(out, "    ],");
    if let Some(conf) = &plan.conf {
        let _ = writeln!(
            out,
            "    // Settings no hagroup command sets, from the configuration."
        );
        let _ = writeln!(out, "    conf: r#\"{conf}\"#,");
    }
    let _ = writeln!(out, "    setup: [");
    for line in &plan.setup {
        let _ = writeln!(out, "        {},", string(line));
    }
    let _ = writeln!(out, "    ],");
    let _ = writeln!(out, "    steps: [");
    for step in &plan.steps {
        if let Some(why) = &step.why {
            let _ = writeln!(out, "        // {why}");
        }
        if !step.step.is_empty() {
            let _ = writeln!(out, "        {},", step.step);
        }
    }
    let _ = writeln!(out, "    ],");
    let _ = writeln!(out, "    expect: [");
    let _ = writeln!(out, "        // The real log, line by line.");
    for line in expected {
        let _ = writeln!(out, "        Log({}),", string(line));
    }
    let _ = writeln!(
        out,
        "        // Predicted by hasim (the log does not record object counts)."
    );
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{}: {n}", serial(s)))
        .collect();
    let _ = writeln!(out, "        ObjectCounts({{{}}}),", counts.join(", "));
    let _ = writeln!(out, "    ],");
    let _ = writeln!(out, ")");
    out
}
