//! Draws a [`Timeline`] as one self-contained HTML page: inline CSS, one inline SVG, no script,
//! no font or image from anywhere, so the page opens offline and reads the same everywhere.
//! Hover a mark, a band or a bar for its details (SVG `<title>`). Every number printed is
//! formatted from integers or with a fixed precision, so the same timeline gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ha_engine::ports::Millis;
use sim::clock::{add_seconds, parse_civil};

use super::axis::Axis;
use super::model::{CallSpan, Injected, MarkKind, MemberRow, State, Timeline};

/// Total width of the drawing, pixels.
const WIDTH: f64 = 1360.0;
/// The row labels' column.
const LABEL_W: f64 = 200.0;
/// The plot's width.
const PLOT_W: f64 = WIDTH - LABEL_W - 50.0;
/// Height of the axis area at the top.
const AXIS_H: f64 = 50.0;
/// Height of the group row (HA log lines about no one member).
const GROUP_H: f64 = 34.0;
/// Height of a member row.
const ROW_H: f64 = 78.0;
/// Height of the application row (failed calls).
const APP_H: f64 = 40.0;
/// Width of a call-count bucket, pixels.
const BUCKET_PX: f64 = 6.0;
/// Tallest call bar.
const BAR_H: f64 = 18.0;
/// Closest two marks on one row may stand.
const MARK_GAP: f64 = 9.0;

const STYLE: &str = r#"
body { font-family: sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px 0; }
h2 { font-size: 15px; margin: 18px 0 6px 0; }
p.meta { margin: 0 0 10px 0; color: #555; font-size: 13px; }
svg.timeline { display: block; border: 1px solid #ccc; background: #fff; }
svg text { font-family: monospace; font-size: 12px; fill: #222; }
svg text.small { font-size: 10px; fill: #555; }
svg text.brk { font-size: 10px; fill: #777; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.sep { stroke: #bbb; stroke-width: 1; }
.brkline { stroke: #999; stroke-width: 1; stroke-dasharray: 3 3; }
.s-alive { fill: #43a047; }
.s-down { fill: #e53935; }
.s-deact { fill: #fb8c00; }
.s-revoked { fill: #8e24aa; }
.s-standby { fill: #90caf9; }
.s-promoted { fill: #1565c0; }
.s-pending { fill: #fff176; }
.s-idle { fill: #e0e0e0; }
.s-nogroup { fill: #ffffff; stroke: #ccc; stroke-dasharray: 2 2; }
.f-drop { fill: #b71c1c; }
.f-revoke { fill: #4a148c; }
.f-deact { fill: #e65100; }
.f-login { fill: #6d4c41; }
.f-slow { fill: #fbc02d; }
.armed { fill: #fff; stroke: #b71c1c; stroke-width: 1.5; }
.mark { stroke: #222; stroke-width: 0.8; }
.m-loss { fill: #e53935; }
.m-fail { fill: #fff; stroke: #c62828; stroke-width: 2; }
.m-ok { fill: #43a047; }
.m-reintro { fill: #1e88e5; }
.m-info { fill: #9e9e9e; }
.bar { fill: #546e7a; }
.bar-fail { fill: #c62828; }
.hatch { fill: url(#hatch); }
table.legend { border-collapse: collapse; font-size: 12px; margin-top: 10px; }
table.legend td { padding: 2px 8px 2px 0; vertical-align: top; }
table.legend svg { display: block; }
ol.halog { font-family: monospace; font-size: 12px; padding-left: 48px; }
ol.halog li { white-space: pre; }
ol.halog span.t { color: #777; }
"#;

/// Escapes text for HTML and SVG (text and attribute values).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn state_class(s: State) -> &'static str {
    match s {
        State::Alive => "s-alive",
        State::Down => "s-down",
        State::Deactivated => "s-deact",
        State::Revoked => "s-revoked",
        State::Standby => "s-standby",
        State::Promoted => "s-promoted",
        State::Pending => "s-pending",
        State::Idle => "s-idle",
        State::NoGroup => "s-nogroup",
    }
}

/// `+12.345 s`, `+70 s`, `+1:02:03`.
fn offset(ms: Millis) -> String {
    let s = ms / 1000;
    if !ms.is_multiple_of(1000) {
        format!("+{s}.{:03} s", ms % 1000)
    } else if s < 3600 {
        format!("+{s} s")
    } else {
        format!("+{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// A length of time: `3 d 2 h 0 min`, `1 h 5 min`, `4 min 10 s`, `40 s`.
fn duration(ms: Millis) -> String {
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h {m} min")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {sec} s")
    } else {
        format!("{sec} s")
    }
}

/// Calendar time of a virtual instant, `16:30:31` (or the offset if the start does not parse).
fn clock(start: &str, ms: Millis) -> String {
    match parse_civil(start) {
        Ok(t) => {
            let c = add_seconds(&t, ms / 1000);
            format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)
        }
        Err(_) => offset(ms),
    }
}

fn when(t: &Timeline, ms: Millis) -> String {
    format!("{} ({})", clock(&t.clock_start, ms), offset(ms))
}

/// Page geometry shared by the drawing functions.
struct Page<'a> {
    t: &'a Timeline,
    axis: Axis,
    out: String,
}

impl Page<'_> {
    fn x(&self, ms: Millis) -> f64 {
        LABEL_W + self.axis.x(ms)
    }

    fn row_top(&self, i: usize) -> f64 {
        AXIS_H + GROUP_H + ROW_H * i as f64
    }

    fn height(&self) -> f64 {
        AXIS_H + GROUP_H + ROW_H * self.t.members.len() as f64 + APP_H + 6.0
    }

    fn w(&mut self, text: &str) {
        self.out.push_str(text);
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str, title: &str) {
        let _ = writeln!(
            self.out,
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}</title></rect>",
            w.max(1.0),
            esc(title)
        );
    }

    fn axis(&mut self) {
        let height = self.height();
        let ticks = self.axis.ticks(90.0);
        for tick in ticks {
            let x = self.x(tick);
            let _ = write!(
                self.out,
                "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{AXIS_H:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" />\n\
                 <text x=\"{x:.1}\" y=\"18\" text-anchor=\"middle\">{}</text>\n<text class=\"small\" x=\"{x:.1}\" y=\"34\" text-anchor=\"middle\">{}</text>\n",
                height - APP_H - 6.0,
                esc(&offset(tick)),
                esc(&clock(&self.t.clock_start, tick)),
            );
        }
        let breaks: Vec<(f64, f64, Millis)> = self
            .axis
            .segments
            .iter()
            .filter(|s| s.broken)
            .map(|s| (s.px_from, s.px_to, s.to - s.from))
            .collect();
        for (from, to, ms) in breaks {
            let (a, b) = (LABEL_W + from, LABEL_W + to);
            for x in [a, b] {
                let _ = writeln!(
                    self.out,
                    "<line class=\"brkline\" x1=\"{x:.1}\" y1=\"40\" x2=\"{x:.1}\" y2=\"{:.1}\" />",
                    height - 6.0
                );
            }
            let label = if b - a >= 70.0 {
                format!(
                    "<text class=\"brk\" x=\"{:.1}\" y=\"46\" text-anchor=\"middle\">{} cut</text>",
                    (a + b) / 2.0,
                    esc(&duration(ms))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                self.out,
                "<rect class=\"hatch\" x=\"{a:.1}\" y=\"38\" width=\"{:.1}\" height=\"{:.1}\"><title>{} without events, drawn short</title></rect>{label}",
                (b - a).max(1.0),
                AXIS_H - 38.0,
                esc(&duration(ms)),
            );
        }
    }

    fn labels(&mut self) {
        let y = AXIS_H + GROUP_H / 2.0 + 4.0;
        let _ = write!(
            self.out,
            "<text x=\"8\" y=\"{y:.1}\">group</text>\n<text class=\"small\" x=\"60\" y=\"{y:.1}\">HA log, no member</text>\n"
        );
        for i in 0..self.t.members.len() {
            let top = self.row_top(i);
            let serial = esc(&self.t.members[i].serial);
            let _ = write!(
                self.out,
                "<line class=\"sep\" x1=\"0\" y1=\"{top:.1}\" x2=\"{WIDTH:.1}\" y2=\"{top:.1}\" />\n\
                 <text x=\"8\" y=\"{:.1}\">{serial}</text>\n<text class=\"small\" x=\"8\" y=\"{:.1}\">slot {i}: log / fault / state</text>\n\
                 <text class=\"small\" x=\"8\" y=\"{:.1}\">calls served</text>\n",
                top + 36.0,
                top + 49.0,
                top + 70.0,
            );
        }
        let top = self.row_top(self.t.members.len());
        let _ = write!(
            self.out,
            "<line class=\"sep\" x1=\"0\" y1=\"{top:.1}\" x2=\"{WIDTH:.1}\" y2=\"{top:.1}\" />\n\
             <text x=\"8\" y=\"{:.1}\">application</text>\n<text class=\"small\" x=\"8\" y=\"{:.1}\">failed calls</text>\n",
            top + 18.0,
            top + 31.0
        );
    }

    fn member(&mut self, i: usize, row: &MemberRow) {
        let top = self.row_top(i);
        let _ = writeln!(
            self.out,
            "<g class=\"member\" data-serial=\"{}\">",
            esc(&row.serial)
        );
        for span in &row.states {
            let (a, b) = (self.x(span.from), self.x(span.to));
            let title = format!(
                "{}: {} from {} to {}",
                row.serial,
                span.what.name(),
                when(self.t, span.from),
                when(self.t, span.to)
            );
            self.rect(a, top + 28.0, b - a, 22.0, state_class(span.what), &title);
        }
        for span in &row.injected {
            let (a, b) = (self.x(span.from), self.x(span.to));
            let title = format!(
                "{}: injected {} from {} to {}",
                row.serial,
                span.what.name(),
                when(self.t, span.from),
                when(self.t, span.to)
            );
            self.rect(a, top + 20.0, b - a, 6.0, span.what.class(), &title);
        }
        for armed in &row.armed {
            let x = self.x(armed.at);
            let y = top + 23.0;
            let _ = writeln!(
                self.out,
                "<path class=\"armed\" d=\"M {:.1} {y:.1} L {x:.1} {:.1} L {:.1} {y:.1} L {x:.1} {:.1} Z\"><title>{}</title></path>",
                x - 4.0,
                y - 4.0,
                x + 4.0,
                y + 4.0,
                esc(&format!(
                    "{}: armed {} at {}",
                    row.serial,
                    armed.what,
                    when(self.t, armed.at)
                ))
            );
        }
        self.bars(
            &row.calls,
            top + 74.0,
            "bar",
            &format!("served by {}", row.serial),
        );
        self.w("</g>\n");
    }

    /// Call counts per bucket of `BUCKET_PX` pixels, drawn as bars up from `baseline`.
    fn bars(&mut self, calls: &[CallSpan], baseline: f64, class: &str, who: &str) {
        // bucket -> (count, first ms, last ms, what)
        let mut buckets: BTreeMap<u64, (u64, Millis, Millis, BTreeMap<String, u64>)> =
            BTreeMap::new();
        for c in calls {
            let b0 = (self.axis.x(c.from) / BUCKET_PX).floor() as u64;
            let b1 = ((self.axis.x(c.to) / BUCKET_PX).floor() as u64).max(b0);
            let k = b1 - b0 + 1;
            for j in 0..k {
                let n = c.count / k + u64::from(j < c.count % k);
                if n == 0 {
                    continue;
                }
                let e = buckets
                    .entry(b0 + j)
                    .or_insert((0, c.from, c.to, BTreeMap::new()));
                e.0 += n;
                e.1 = e.1.min(c.from);
                e.2 = e.2.max(c.to);
                *e.3.entry(c.what.clone()).or_insert(0) += n;
            }
        }
        let max = self.max_bucket();
        for (b, (n, from, to, what)) in buckets {
            let h = BAR_H * ((1 + n) as f64).ln() / ((1 + max) as f64).ln().max(1e-9);
            let x = LABEL_W + b as f64 * BUCKET_PX;
            let mut title = format!(
                "{n} call(s) {who}, {} to {}:",
                when(self.t, from),
                when(self.t, to)
            );
            for (op, k) in what {
                let _ = write!(title, " {op} x{k};");
            }
            self.rect(
                x,
                baseline - h,
                BUCKET_PX - 1.0,
                h,
                class,
                title.trim_end_matches(';'),
            );
        }
    }

    /// The largest bucket count of the page (all bars share one scale).
    fn max_bucket(&self) -> u64 {
        let mut max = 1;
        let rows = self
            .t
            .members
            .iter()
            .map(|m| &m.calls)
            .chain(std::iter::once(&self.t.failures));
        for calls in rows {
            let mut buckets: BTreeMap<u64, u64> = BTreeMap::new();
            for c in calls {
                let b0 = (self.axis.x(c.from) / BUCKET_PX).floor() as u64;
                let b1 = ((self.axis.x(c.to) / BUCKET_PX).floor() as u64).max(b0);
                let k = b1 - b0 + 1;
                for j in 0..k {
                    *buckets.entry(b0 + j).or_insert(0) += c.count / k + u64::from(j < c.count % k);
                }
            }
            max = buckets.values().copied().fold(max, u64::max);
        }
        max
    }

    fn marks(&mut self) {
        let mut last_x: BTreeMap<Option<usize>, f64> = BTreeMap::new();
        for mark in &self.t.marks {
            let y = match mark.member {
                Some(i) => self.row_top(i) + 10.0,
                None => AXIS_H + GROUP_H / 2.0,
            };
            let mut x = self.x(mark.at);
            if let Some(prev) = last_x.get(&mark.member)
                && x - prev < MARK_GAP
            {
                x = prev + MARK_GAP;
            }
            last_x.insert(mark.member, x);
            let title = esc(&format!(
                "#{} at {}: {}",
                mark.number,
                offset(mark.at),
                mark.line
            ));
            let (shape, close) = Self::mark_shape(mark.kind, x, y);
            let _ = writeln!(self.out, "{shape}<title>{title}</title>{close}");
        }
    }

    fn svg(&mut self) {
        let height = self.height();
        let _ = write!(
            self.out,
            "<svg class=\"timeline\" width=\"{WIDTH:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH:.0} {height:.0}\" role=\"img\" aria-label=\"timeline of the run\">\n\
             <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
             <rect width=\"6\" height=\"6\" fill=\"#ffffff\" fill-opacity=\"0.35\" /><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#888\" stroke-opacity=\"0.5\" stroke-width=\"2\" /></pattern></defs>\n"
        );
        self.labels();
        let members = self.t.members.clone();
        for (i, row) in members.iter().enumerate() {
            self.member(i, row);
        }
        let failures = self.t.failures.clone();
        let app_top = self.row_top(members.len());
        self.bars(&failures, app_top + APP_H - 4.0, "bar-fail", "failed");
        self.axis();
        self.marks();
        self.w("</svg>\n");
    }

    /// One mark's shape at `(x, y)`, its class and its closing tag (the title goes between).
    fn mark_shape(kind: MarkKind, x: f64, y: f64) -> (String, &'static str) {
        let class = kind.class();
        match kind {
            MarkKind::Loss => (
                format!(
                    "<path class=\"mark {class}\" d=\"M {:.1} {:.1} L {:.1} {:.1} L {x:.1} {:.1} Z\">",
                    x - 5.0,
                    y - 4.0,
                    x + 5.0,
                    y - 4.0,
                    y + 5.0
                ),
                "</path>",
            ),
            MarkKind::Reintroduced => (
                format!(
                    "<rect class=\"mark {class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\">",
                    x - 4.0,
                    y - 4.0
                ),
                "</rect>",
            ),
            MarkKind::Info => (
                format!("<circle class=\"mark {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\">"),
                "</circle>",
            ),
            MarkKind::AttemptFailed | MarkKind::Recovered => (
                format!("<circle class=\"mark {class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\">"),
                "</circle>",
            ),
        }
    }

    fn legend(&mut self) {
        self.w("<h2>Legend</h2>\n<table class=\"legend\">\n");
        self.w("<tr><td colspan=\"3\"><b>Member state</b> (the wide band): the engine's view, derived from the HA log lines and the application's calls</td></tr>\n");
        for s in State::ALL {
            let _ = writeln!(
                self.out,
                "<tr><td><svg width=\"28\" height=\"12\"><rect class=\"{}\" x=\"0.5\" y=\"0.5\" width=\"27\" height=\"11\" /></svg></td><td><b>{}</b></td><td>{}</td></tr>",
                state_class(s),
                esc(s.name()),
                esc(s.derivation())
            );
        }
        self.w("<tr><td colspan=\"3\"><b>Injected fault</b> (the thin band above it): what the scenario did below the Member port (the record's fault events), from the fault until its Restore / Activate; the engine notices only at its next call to the member (D19)</td></tr>\n<tr><td></td><td colspan=\"2\">");
        for f in [
            Injected::Unreachable,
            Injected::Revoked,
            Injected::Deactivated,
            Injected::LoginRefused,
            Injected::Slow(0),
        ] {
            let name = match f {
                Injected::Slow(_) => "Slow: calls take longer".to_string(),
                _ => f.name(),
            };
            let _ = write!(
                self.out,
                "<svg width=\"28\" height=\"12\" style=\"display:inline\"><rect class=\"{}\" x=\"0\" y=\"3\" width=\"28\" height=\"6\" /></svg> {} &#160; ",
                f.class(),
                esc(&name)
            );
        }
        self.w("<svg width=\"16\" height=\"12\" style=\"display:inline\"><path class=\"armed\" d=\"M 4 6 L 8 2 L 12 6 L 8 10 Z\" /></svg> armed on a later call (the record has the arming, not the firing)</td></tr>\n");
        self.w("<tr><td colspan=\"3\"><b>HA log</b>: one mark per line, on the row of the member it names (the group row otherwise); hover for the line; marks at one instant stand side by side</td></tr>\n<tr><td></td><td colspan=\"2\">");
        for k in [
            MarkKind::Loss,
            MarkKind::AttemptFailed,
            MarkKind::Recovered,
            MarkKind::Reintroduced,
            MarkKind::Info,
        ] {
            let (open, close) = Self::mark_shape(k, 8.0, 6.0);
            let _ = write!(
                self.out,
                "<svg width=\"16\" height=\"12\" style=\"display:inline\">{open}{close}</svg> {} &#160; ",
                esc(k.name())
            );
        }
        let _ = write!(
            self.out,
            "</td></tr>\n<tr><td><svg width=\"28\" height=\"12\"><rect class=\"bar\" x=\"4\" y=\"2\" width=\"5\" height=\"10\" /><rect class=\"bar-fail\" x=\"16\" y=\"5\" width=\"5\" height=\"7\" /></svg></td><td><b>calls</b></td><td>application calls served per member (grey) and failed calls (red), counted per {BUCKET_PX:.0}-pixel bucket; bar height grows with the logarithm of the count</td></tr>\n\
             <tr><td><svg width=\"28\" height=\"12\"><rect class=\"hatch\" x=\"0\" y=\"0\" width=\"28\" height=\"12\" /></svg></td><td><b>cut</b></td><td>a stretch without events between dashed lines, drawn shorter than its length (written above it when there is room; hover for it)</td></tr>\n</table>\n"
        );
    }

    fn log_list(&mut self) {
        let _ = write!(
            self.out,
            "<h2>HA log ({} lines)</h2>\n<ol class=\"halog\">\n",
            self.t.marks.len()
        );
        let marks = self.t.marks.clone();
        for m in &marks {
            let _ = writeln!(
                self.out,
                "<li><span class=\"t\">{}</span> {}</li>",
                esc(&offset(m.at)),
                esc(&m.line)
            );
        }
        self.w("</ol>\n");
    }
}

/// The page.
pub fn page(t: &Timeline) -> String {
    let axis = Axis::new(&t.instants, PLOT_W);
    let mut p = Page {
        t,
        axis,
        out: String::new(),
    };
    let _ = write!(
        p.out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>hasim timeline: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p class=\"meta\">seed {} ({}) &#183; clock start {} &#183; pid {} &#183; {} members &#183; {} HA log lines &#183; virtual time 0 to {}</p>\n",
        esc(&t.scenario),
        esc(&t.scenario),
        t.seed,
        esc(&t.generator),
        esc(&t.clock_start),
        t.pid,
        t.members.len(),
        t.marks.len(),
        esc(offset(t.end).trim_start_matches('+')),
    );
    p.svg();
    p.legend();
    p.log_list();
    p.w("</body>\n</html>\n");
    p.out
}
