//! What both verbs' reports draw with: the terminal [`Style`], human-readable durations and
//! byte counts, and the small text histogram of a distribution of durations ([`histogram`]:
//! `tenure meter`'s gaps between chunks, `tenure demo`'s pool wait times).

use std::time::Duration;

use tenure::stream::Gaps;

/// Colours and shading, on a terminal only, and never with `NO_COLOR` set.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    colour: bool,
    shade: bool,
}

impl Style {
    /// The style for output that goes to a terminal (`terminal`) or not.
    pub fn new(terminal: bool) -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: terminal && !no_colour,
            shade: terminal,
        }
    }

    /// Neither colour nor shading: what a pipe or a file gets.
    #[cfg_attr(not(test), allow(dead_code))]
    pub const PLAIN: Style = Style {
        colour: false,
        shade: false,
    };

    /// Whether colours are on.
    pub fn colour(self) -> bool {
        self.colour
    }

    /// `text` in SGR colour `code` (`"1"` bold, `"2"` dim, `"33"` yellow…), when colours
    /// are on.
    pub fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A duration with three or four significant digits.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// A byte count in B, KiB, MiB or GiB.
pub fn bytes(b: f64) -> String {
    if b < 1024.0 {
        format!("{b:.0} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Durations that fell in one place of a distribution: a range (`low` inclusive, `high`
/// exclusive) narrower than a display row, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub low: Duration,
    pub high: Duration,
    pub count: u64,
}

/// The buckets of a stream's gap histogram.
pub fn gap_buckets(gaps: &Gaps) -> Vec<Bucket> {
    gaps.buckets()
        .iter()
        .map(|b| Bucket {
            low: b.low,
            high: b.high,
            count: b.count,
        })
        .collect()
}

/// Display rows: 1, 2, 5 × 10^k nanoseconds.
fn row_edges() -> impl Iterator<Item = u64> {
    (0..19u32).flat_map(|k| [1u64, 2, 5].map(move |m| m * 10u64.pow(k)))
}

fn edge_text(ns: u64) -> String {
    let (v, unit) = match ns {
        n if n < 1_000 => (n, "ns"),
        n if n < 1_000_000 => (n / 1_000, "µs"),
        n if n < 1_000_000_000 => (n / 1_000_000, "ms"),
        n => (n / 1_000_000_000, "s"),
    };
    format!("{v} {unit}")
}

/// A small text histogram of durations: one row per 1-2-5 range from the shortest
/// duration's (`min`) to the longest's (`max`), bars scaled to the fullest row (eighth-block
/// shading on a terminal, `#` elsewhere). Nothing when there are no buckets.
pub fn histogram(buckets: &[Bucket], min: Duration, max: Duration, style: Style) -> Vec<String> {
    const WIDTH: usize = 32;
    if buckets.iter().all(|b| b.count == 0) {
        return Vec::new();
    }
    let edges: Vec<u64> = row_edges().collect();
    let row = |d: Duration| {
        let ns = d.as_nanos().min(u128::from(u64::MAX)) as u64;
        edges.iter().rposition(|&e| e <= ns).unwrap_or(0)
    };
    let (first, last) = (row(min), row(max.max(min)));
    let mut counts = vec![0u64; last - first + 1];
    for b in buckets {
        // A bucket is narrower than any row but may straddle an edge: its middle decides,
        // clamped into the recorded range.
        let mid = (b.low + (b.high.saturating_sub(b.low)) / 2).clamp(min, max.max(min));
        counts[row(mid) - first] += b.count;
    }
    let fullest = counts.iter().copied().max().unwrap_or(1).max(1);
    let labels: Vec<String> = (first..=last)
        .map(|i| {
            let hi = edges
                .get(i + 1)
                .map_or_else(|| "∞".into(), |&e| edge_text(e));
            format!("{} – {}", edge_text(edges[i]), hi)
        })
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    labels
        .iter()
        .zip(&counts)
        .map(|(label, &c)| {
            let eighths = (c as f64 / fullest as f64 * (WIDTH * 8) as f64).round() as usize;
            let eighths = if c > 0 { eighths.max(1) } else { 0 };
            let bar = if style.shade {
                const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
                format!("{}{}", "█".repeat(eighths / 8), PARTS[eighths % 8])
            } else {
                "#".repeat(eighths.div_ceil(8))
            };
            let pad = label_width - label.chars().count();
            format!(
                "{}{label}  {} {c}",
                " ".repeat(pad),
                style.paint("36", &bar)
            )
        })
        .collect()
}

/// [`histogram`] of a stream's gaps.
pub fn gaps(gaps: &Gaps, style: Style) -> Vec<String> {
    if gaps.is_empty() {
        return Vec::new();
    }
    histogram(&gap_buckets(gaps), gaps.min(), gaps.max(), style)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure::clock::ManualClock;
    use tenure::stream::Meter;

    fn gaps_of(ms: &[u64]) -> Gaps {
        let clock = ManualClock::new();
        let mut m = Meter::with_clock(std::iter::repeat_n("x", ms.len() + 1), clock.clone());
        m.next();
        for &g in ms {
            clock.advance(Duration::from_millis(g));
            m.next();
        }
        m.gaps()
    }

    #[test]
    fn the_picture_spans_min_to_max_in_1_2_5_rows() {
        let rows = gaps(&gaps_of(&[1, 1, 1, 1, 30]), Style::PLAIN);
        assert_eq!(rows.len(), 5, "{rows:#?}"); // 1-2, 2-5, 5-10, 10-20, 20-50 ms
        assert!(
            rows[0].starts_with("  1 ms – 2 ms  ") && rows[0].ends_with(" 4"),
            "{rows:#?}"
        );
        assert!(rows[0].contains(&"#".repeat(32)));
        assert!(rows[4].ends_with("# 1"), "{rows:#?}");
        assert!(rows[1].ends_with("  0"), "{rows:#?}");
    }

    #[test]
    fn no_picture_without_gaps() {
        assert!(gaps(&gaps_of(&[]), Style::PLAIN).is_empty());
        assert!(histogram(&[], Duration::ZERO, Duration::ZERO, Style::PLAIN).is_empty());
    }

    #[test]
    fn shading_uses_eighth_blocks() {
        let style = Style {
            colour: false,
            shade: true,
        };
        let rows = gaps(
            &gaps_of(&[100, 100, 100, 100, 100, 100, 100, 100, 300]),
            style,
        );
        assert!(
            rows[0].contains('█') && rows[0].ends_with(" 8"),
            "{rows:#?}"
        );
        assert!(rows[1].contains('▉') || rows[1].contains('█'), "{rows:#?}");
    }

    #[test]
    fn buckets_fall_in_the_row_of_their_middle() {
        let ms = Duration::from_millis;
        let b = |low, high, count| Bucket {
            low: ms(low),
            high: ms(high),
            count,
        };
        let rows = histogram(&[b(3, 4, 2), b(150, 151, 1)], ms(3), ms(151), Style::PLAIN);
        // 2-5, 5-10, 10-20, 20-50, 50-100, 100-200 ms
        assert_eq!(rows.len(), 6, "{rows:#?}");
        assert!(
            rows[0].ends_with(" 2") && rows[5].ends_with(" 1"),
            "{rows:#?}"
        );
    }
}
