//! Small SVG charts, written by hand: a line chart and a horizontal bar chart.
//!
//! The report must be one self-contained file that opens anywhere, so the charts are plain SVG
//! text with no fonts to load and no script. Both charts share one layout:
//!
//! ```text
//!   ┌──────────────────────────────────────────────┐
//!   │ title                                        │
//!   │      ┌───────────────────────────┐           │
//!   │ axis │ plot area                 │ legend    │
//!   │      └───────────────────────────┘           │
//!   │        x axis labels                         │
//!   └──────────────────────────────────────────────┘
//! ```
//!
//! Values must be finite; a chart with no data draws its frame and says so.

use std::fmt::Write as _;

/// One series of a line chart: a name, a colour and its points.
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// A CSS colour.
    pub colour: &'static str,
    /// (x, y) points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Dashed, for reference lines such as the ideal speedup.
    pub dashed: bool,
}

const WIDTH: f64 = 540.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 130.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for SVG and HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn open(out: &mut String, title: &str, height: f64) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{title}" font-family="sans-serif" font-size="12">"#,
        title = escape(title)
    );
    let _ = write!(
        out,
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/><text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
}

/// A round upper bound for an axis that must reach `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// A line chart of `series`, axes from 0 (x from the smallest x), x ticks every whole step.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart_with_ticks(title, x_label, y_label, series, None)
}

/// A line chart whose x axis spans `ticks` (value, label) when given, labelled with them.
fn line_chart_with_ticks(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    ticks: Option<&[(f64, String)]>,
) -> String {
    let mut out = String::new();
    open(&mut out, title, HEIGHT);
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max, mut y_max) = (f64::MAX, f64::MIN, 0f64);
    for &(x, y) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        (x_min, x_max) = (0.0, 1.0);
    }
    if let Some(ticks) = ticks {
        x_min = ticks.iter().map(|t| t.0).fold(f64::MAX, f64::min);
        x_max = ticks.iter().map(|t| t.0).fold(f64::MIN, f64::max);
    }
    if x_max <= x_min {
        x_max = x_min + 1.0;
    }
    let y_top = nice_ceiling(y_max);
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
    let sy = |y: f64| TOP + plot_h - y / y_top * plot_h;
    axes(&mut out, x_label, y_label);
    for i in 0..=4 {
        let y = y_top * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            sy(y) + 4.0,
            trim_number(y),
            py = sy(y)
        );
    }
    let default_ticks: Vec<(f64, String)> = {
        let step = ((x_max - x_min) / 8.0).max(1.0).round();
        let mut ticks = Vec::new();
        let mut x = x_min;
        while x <= x_max + 1e-9 {
            ticks.push((x, trim_number(x)));
            x += step;
        }
        ticks
    };
    for (x, label) in ticks.unwrap_or(&default_ticks) {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            sx(*x),
            TOP + plot_h + 16.0,
            escape(label)
        );
    }
    for (index, s) in series.iter().enumerate() {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="5,4""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            path.join(" "),
            s.colour
        );
        for &(x, y) in &s.points {
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"><title>{}: {} → {}</title></circle>"#,
                sx(x),
                sy(y),
                s.colour,
                escape(&s.name),
                trim_number(x),
                trim_number(y)
            );
        }
        legend(&mut out, index, &s.name, s.colour);
    }
    if series.iter().all(|s| s.points.is_empty()) {
        no_data(&mut out, HEIGHT);
    }
    out.push_str("</svg>");
    out
}

/// A horizontal bar chart of (label, value, colour); a logarithmic axis when `log` (values
/// below 1 are drawn at 1).
pub fn bar_chart(
    title: &str,
    unit: &str,
    bars: &[(String, f64, &'static str)],
    log: bool,
) -> String {
    let mut out = String::new();
    let band = 34.0;
    let plot_h = band * bars.len().max(1) as f64;
    let height = TOP + plot_h + 28.0;
    open(&mut out, title, height);
    let plot_w = WIDTH - LEFT - RIGHT - 20.0;
    let left = LEFT + 60.0;
    let max = bars.iter().map(|b| b.1).fold(0f64, f64::max);
    let scale = |v: f64| -> f64 {
        if log {
            let top = nice_ceiling(max.max(10.0)).log10();
            v.max(1.0).log10() / top * plot_w
        } else {
            v.max(0.0) / nice_ceiling(max) * plot_w
        }
    };
    for (index, (label, value, colour)) in bars.iter().enumerate() {
        let y = TOP + band * index as f64;
        let bar_height = band * 0.7;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{left}" y="{:.1}" width="{:.1}" height="{bar_height:.1}" fill="{colour}"><title>{}: {} {}</title></rect><text x="{:.1}" y="{:.1}">{} {}</text>"#,
            left - 6.0,
            y + bar_height / 2.0 + 4.0,
            escape(label),
            y,
            scale(*value).max(1.0),
            escape(label),
            trim_number(*value),
            escape(unit),
            left + scale(*value) + 6.0,
            y + bar_height / 2.0 + 4.0,
            trim_number(*value),
            escape(unit)
        );
    }
    if bars.is_empty() {
        no_data(&mut out, height);
    }
    let scale_note = if log {
        "logarithmic scale"
    } else {
        "linear scale"
    };
    let _ = write!(
        out,
        r##"<text x="{left}" y="{}" fill="#666">{}</text>"##,
        height - 10.0,
        scale_note
    );
    out.push_str("</svg>");
    out
}

fn axes(out: &mut String, x_label: &str, y_label: &str) {
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{}" stroke="#333"/><line x1="{LEFT}" y1="{}" x2="{}" y2="{}" stroke="#333"/><text x="{}" y="{}" text-anchor="middle">{}</text><text transform="translate(14 {}) rotate(-90)" text-anchor="middle">{}</text>"##,
        TOP + plot_h,
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h,
        LEFT + plot_w / 2.0,
        HEIGHT - 8.0,
        escape(x_label),
        TOP + plot_h / 2.0,
        escape(y_label)
    );
}

fn legend(out: &mut String, index: usize, name: &str, colour: &str) {
    let y = TOP + 10.0 + 18.0 * index as f64;
    let x = WIDTH - RIGHT + 14.0;
    let _ = write!(
        out,
        r#"<rect x="{x}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{}" y="{:.1}">{}</text>"#,
        y - 10.0,
        x + 18.0,
        y,
        escape(name)
    );
}

fn no_data(out: &mut String, height: f64) {
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#999">no data</text>"##,
        WIDTH / 2.0,
        height / 2.0
    );
}

/// A number with at most 3 significant decimals and no trailing zeros.
fn trim_number(value: f64) -> String {
    let text = if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// Log-spaced bins per decade in [`histogram`].
const BINS_PER_DECADE: f64 = 4.0;

/// Histograms of durations in microseconds, one frequency polygon per series on a logarithmic
/// axis from 0.1 µs to 10 s: the share of each series' values per bin (four bins per decade).
pub fn histogram(title: &str, series: &[(String, &'static str, Vec<f64>)]) -> String {
    let (low, high) = (-1.0f64, 7.0f64); // log10 of microseconds
    let bins = ((high - low) * BINS_PER_DECADE) as usize;
    let lines: Vec<Series> = series
        .iter()
        .filter(|(_, _, values)| !values.is_empty())
        .map(|(name, colour, values)| {
            let mut counts = vec![0usize; bins];
            for &value in values {
                let position = (value.max(1e-3).log10() - low) * BINS_PER_DECADE;
                let bin = (position.max(0.0) as usize).min(bins - 1);
                counts[bin] += 1;
            }
            let total = values.len() as f64;
            Series {
                name: name.clone(),
                colour,
                points: counts
                    .iter()
                    .enumerate()
                    .map(|(bin, &count)| {
                        let centre = low + (bin as f64 + 0.5) / BINS_PER_DECADE;
                        (centre, count as f64 / total)
                    })
                    .collect(),
                dashed: false,
            }
        })
        .collect();
    let ticks: Vec<(f64, String)> = [
        (-1.0, "0.1µs"),
        (0.0, "1µs"),
        (1.0, "10µs"),
        (2.0, "100µs"),
        (3.0, "1ms"),
        (4.0, "10ms"),
        (5.0, "100ms"),
        (6.0, "1s"),
        (7.0, "10s"),
    ]
    .iter()
    .map(|&(x, label)| (x, label.to_owned()))
    .collect();
    line_chart_with_ticks(
        title,
        "duration (log scale)",
        "share of events",
        &lines,
        Some(&ticks),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_well_formed_svg_with_escaped_text() {
        let series = [Series {
            name: "a<b".to_owned(),
            colour: "red",
            points: vec![(1.0, 1.0), (2.0, 1.9)],
            dashed: false,
        }];
        let line = line_chart("t & u", "x", "y", &series);
        assert!(line.starts_with("<svg") && line.ends_with("</svg>"));
        assert!(line.contains("a&lt;b") && line.contains("t &amp; u"));
        let bars = bar_chart("b", "ms", &[("x".to_owned(), 150.0, "blue")], true);
        assert!(bars.contains("150 ms"));
        assert!(line_chart("empty", "x", "y", &[]).contains("no data"));
    }

    #[test]
    fn numbers_are_trimmed() {
        assert_eq!(trim_number(1.5), "1.5");
        assert_eq!(trim_number(2.0), "2");
        assert_eq!(trim_number(123.4), "123");
        assert_eq!(nice_ceiling(1.97), 2.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
    }
}
