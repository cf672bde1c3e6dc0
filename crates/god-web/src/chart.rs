//! Charts drawn on the server as SVG: no script, printable, readable by screen readers (a
//! title per bar and a table beside every chart), and testable as text. Pure.

/// One bar: its label (a day) and its value.
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// A bar chart of `bars` (oldest first), `unit` after each value; an optional limit is drawn
/// as a line (a quota).
pub fn bars(title: &str, bars: &[Bar], unit: &str, limit: Option<f64>) -> String {
    const W: f64 = 640.0;
    const H: f64 = 160.0;
    const PAD: f64 = 24.0;
    // The top of the scale is a round figure the label can show: a day of 0.00003 cpu·h is a
    // sliver under "0.01 cpu·h", not a full bar under "0 cpu·h".
    let max = nice_ceiling(
        bars.iter()
            .map(|b| b.value)
            .chain(limit)
            .fold(0.0_f64, f64::max),
    );
    let scale = if max > 0.0 { (H - PAD) / max } else { 0.0 };
    let n = bars.len().max(1) as f64;
    let slot = (W - PAD) / n;
    let width = (slot * 0.8).max(1.0);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title)
    );
    out += &format!(
        "<line x1=\"{PAD}\" y1=\"{y}\" x2=\"{W}\" y2=\"{y}\" stroke=\"#9aa4b1\"/>",
        y = H - PAD
    );
    for (i, b) in bars.iter().enumerate() {
        let h = (b.value * scale).max(0.0);
        let x = PAD + i as f64 * slot + (slot - width) / 2.0;
        out += &format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"{h:.1}\" \
             fill=\"#1f5fae\"><title>{}: {} {}</title></rect>",
            H - PAD - h,
            escape(&b.label),
            number(b.value),
            escape(unit)
        );
    }
    if let Some(l) = limit.filter(|l| *l > 0.0) {
        let y = H - PAD - l * scale;
        out += &format!(
            "<line x1=\"{PAD}\" y1=\"{y:.1}\" x2=\"{W}\" y2=\"{y:.1}\" stroke=\"#b3261e\" \
             stroke-dasharray=\"6 4\"><title>quota: {} {}</title></line>",
            number(l),
            escape(unit)
        );
    }
    if let (Some(first), Some(last)) = (bars.first(), bars.last()) {
        out += &format!(
            "<text x=\"{PAD}\" y=\"{H}\" font-size=\"11\" fill=\"#5b6573\">{}</text>\
             <text x=\"{W}\" y=\"{H}\" font-size=\"11\" fill=\"#5b6573\" \
             text-anchor=\"end\">{}</text>",
            escape(&first.label),
            escape(&last.label)
        );
    }
    out += &format!(
        "<text x=\"0\" y=\"12\" font-size=\"11\" fill=\"#5b6573\">{} {}</text></svg>",
        number(max),
        escape(unit)
    );
    out
}

/// The smallest of 1, 2 or 5 times a power of ten (0.01 at least: the labels' precision) that
/// is not below `v`; 0 for nothing.
fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 0.0;
    }
    let v = v.max(0.01);
    let mut step = 10f64.powf(v.log10().floor());
    loop {
        for m in [1.0, 2.0, 5.0] {
            // A little slack: 3 must not become 5 through 2.9999999.
            if m * step >= v * (1.0 - 1e-9) {
                return m * step;
            }
        }
        step *= 10.0;
    }
}

/// A figure with at most two decimals, without trailing zeros.
pub fn number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn a_chart_is_bars_with_their_values_and_the_quota_line() {
        let svg = bars(
            "cpu <hours>",
            &[
                Bar {
                    label: "2026-12-01".into(),
                    value: 1.0,
                },
                Bar {
                    label: "2026-12-02".into(),
                    value: 3.5,
                },
            ],
            "cpu·h",
            Some(4.0),
        );
        expect![[r##"<svg class="chart" viewBox="0 0 640 160" role="img" aria-label="cpu &lt;hours&gt;" xmlns="http://www.w3.org/2000/svg"><line x1="24" y1="136" x2="640" y2="136" stroke="#9aa4b1"/><rect x="54.8" y="108.8" width="246.4" height="27.2" fill="#1f5fae"><title>2026-12-01: 1 cpu·h</title></rect><rect x="362.8" y="40.8" width="246.4" height="95.2" fill="#1f5fae"><title>2026-12-02: 3.5 cpu·h</title></rect><line x1="24" y1="27.2" x2="640" y2="27.2" stroke="#b3261e" stroke-dasharray="6 4"><title>quota: 4 cpu·h</title></line><text x="24" y="160" font-size="11" fill="#5b6573">2026-12-01</text><text x="640" y="160" font-size="11" fill="#5b6573" text-anchor="end">2026-12-02</text><text x="0" y="12" font-size="11" fill="#5b6573">5 cpu·h</text></svg>"##]].assert_eq(&svg);
        assert!(bars("empty", &[], "h", None).ends_with("</svg>"));
    }

    #[test]
    fn the_scale_ends_at_a_round_figure_the_label_can_show() {
        for (v, top) in [
            (0.0, 0.0),
            (0.00003, 0.01),
            (0.01, 0.01),
            (0.3, 0.5),
            (1.0, 1.0),
            (3.5, 5.0),
            (4.0, 5.0),
            (20.0, 20.0),
            (120.0, 200.0),
        ] {
            assert_eq!(nice_ceiling(v), top, "{v}");
        }
        let tiny = bars(
            "cpu",
            &[Bar {
                label: "d".into(),
                value: 0.00003,
            }],
            "cpu·h",
            None,
        );
        assert!(tiny.contains(">0.01 cpu·h</text>"), "{tiny}");
        assert!(tiny.contains("height=\"0.4\""), "a sliver: {tiny}");
    }
}
