//! The timeline's time axis: virtual milliseconds to pixels, with long quiet stretches cut
//! short. A run often has a burst at the start, a recovery campaign one interval apart and a
//! day of nothing: drawn to scale, everything would crowd into a few pixels. So every gap
//! between two consecutive instants where something happened that is longer than `cap`
//! (four times the median gap, at least a minute) is drawn `cap` wide and marked as a break
//! with its real length. Within a segment the scale is linear. Pure integer and float
//! arithmetic, the same on every machine.

use std::collections::BTreeSet;

use ha_engine::ports::Millis;

/// One stretch of the axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Start, virtual ms.
    pub from: Millis,
    /// End, virtual ms.
    pub to: Millis,
    /// Start, pixels from the plot's left edge.
    pub px_from: f64,
    /// End, pixels.
    pub px_to: f64,
    /// True when the stretch is drawn shorter than its length.
    pub broken: bool,
}

/// The time axis of one page.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The segments, in time order, covering `0..=end`.
    pub segments: Vec<Segment>,
    /// The plot's width in pixels.
    pub width: f64,
}

/// The shortest gap cut short: a minute.
const MIN_CAP_MS: Millis = 60_000;

impl Axis {
    /// An axis `width` pixels wide over these instants (0 and the end included by the caller).
    pub fn new(instants: &BTreeSet<Millis>, width: f64) -> Axis {
        let times: Vec<Millis> = instants.iter().copied().collect();
        let mut gaps: Vec<Millis> = times
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|g| *g > 0)
            .collect();
        gaps.sort_unstable();
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or(0);
        let cap = (median * 4).max(MIN_CAP_MS);
        // Pieces of time (from, to, drawn length, broken).
        let mut pieces: Vec<(Millis, Millis, Millis, bool)> = Vec::new();
        for w in times.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b == a {
                continue;
            }
            let broken = b - a > cap;
            let drawn = if broken { cap } else { b - a };
            match pieces.last_mut() {
                Some(last) if !broken && !last.3 => {
                    last.1 = b;
                    last.2 += drawn;
                }
                _ => pieces.push((a, b, drawn, broken)),
            }
        }
        if pieces.is_empty() {
            let start = times.first().copied().unwrap_or(0);
            pieces.push((start, start + 1000, 1000, false));
        }
        let total: Millis = pieces.iter().map(|p| p.2).sum();
        let scale = width / total.max(1) as f64;
        let mut px = 0.0;
        let segments = pieces
            .into_iter()
            .map(|(from, to, drawn, broken)| {
                let px_from = px;
                px += drawn as f64 * scale;
                Segment {
                    from,
                    to,
                    px_from,
                    px_to: px,
                    broken,
                }
            })
            .collect();
        Axis { segments, width }
    }

    /// The pixel of an instant (clamped to the axis).
    pub fn x(&self, t: Millis) -> f64 {
        let Some(first) = self.segments.first() else {
            return 0.0;
        };
        if t <= first.from {
            return first.px_from;
        }
        for s in &self.segments {
            if t <= s.to {
                let span = (s.to - s.from).max(1) as f64;
                return s.px_from + (t - s.from) as f64 / span * (s.px_to - s.px_from);
            }
        }
        self.width
    }

    /// Tick instants for unbroken segments, at a round step leaving at least `min_px` between
    /// labels, plus the start of every segment.
    pub fn ticks(&self, min_px: f64) -> Vec<Millis> {
        const STEPS_S: [u64; 16] = [
            1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400,
        ];
        let mut out: Vec<Millis> = Vec::new();
        let mut last_px = f64::NEG_INFINITY;
        let mut push = |t: Millis, px: f64, out: &mut Vec<Millis>| {
            if px - last_px >= min_px && !out.contains(&t) {
                out.push(t);
                last_px = px;
            }
        };
        for s in &self.segments {
            push(s.from, s.px_from, &mut out);
            if s.broken {
                continue;
            }
            let per_ms = (s.px_to - s.px_from) / (s.to - s.from).max(1) as f64;
            let step = STEPS_S
                .iter()
                .map(|s| s * 1000)
                .find(|step| *step as f64 * per_ms >= min_px)
                .unwrap_or(86_400_000);
            let mut t = s.from.div_ceil(step) * step;
            while t <= s.to {
                push(t, self.x(t), &mut out);
                t += step;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(times: &[Millis]) -> Axis {
        Axis::new(&times.iter().copied().collect(), 1000.0)
    }

    #[test]
    fn a_short_run_is_linear() {
        let a = axis(&[0, 10_000, 30_000, 90_000]);
        assert_eq!(a.segments.len(), 1);
        assert!((a.x(45_000) - 500.0).abs() < 1e-9);
        assert!((a.x(90_000) - 1000.0).abs() < 1e-9);
    }

    #[test]
    fn a_long_quiet_stretch_is_cut_short() {
        let a = axis(&[0, 10_000, 70_000, 130_000, 190_000, 86_590_000, 90_190_000]);
        assert!(a.segments.iter().any(|s| s.broken));
        // The campaign gets over a quarter of the width (to scale: 0.2 %).
        assert!(a.x(190_000) > 250.0, "{}", a.x(190_000));
        assert!((a.x(90_190_000) - 1000.0).abs() < 1e-9);
        // Monotone.
        let mut last = -1.0;
        for t in (0..90_190_000).step_by(1_000_000) {
            let x = a.x(t);
            assert!(x >= last);
            last = x;
        }
    }

    #[test]
    fn everything_at_once_still_has_an_axis() {
        let a = axis(&[0]);
        assert_eq!(a.x(0), 0.0);
        assert!(!a.ticks(80.0).is_empty());
    }
}
