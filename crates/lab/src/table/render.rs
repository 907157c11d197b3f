//! The table as text: a grid of marks and claims, then each row's claims and measurements, with
//! the real system's under each model when there is a calibration.

use std::fmt::Write as _;

use super::{column, Cell, Row, NO_CLAIM};
use crate::model::Model;

/// The width of a model's column in the grid.
const COLUMN_WIDTH: usize = 19;

/// The table as text: a grid of marks, then each row's claims and measurements.
pub fn render(
    cells: &[Cell],
    models: &[Model],
    calibrations: &[crate::calibration::Calibration],
) -> String {
    let mut out = String::new();
    let label_width = Row::ALL.iter().map(|r| r.title().len()).max().unwrap_or(0) + 2;
    let _ = write!(out, "{:label_width$}", "");
    for &model in models {
        let _ = write!(out, "{:<COLUMN_WIDTH$}", column(model));
    }
    out.push('\n');
    for row in Row::ALL {
        let _ = write!(out, "{:label_width$}", row.title());
        for &model in models {
            let cell = cells.iter().find(|c| c.row == row && c.model == model);
            // A row the essay leaves out has no claim to show: its grid cell shows the figure.
            let text = cell.map_or_else(String::new, |c| {
                let shown = if c.claim == NO_CLAIM {
                    c.measured.as_str()
                } else {
                    c.claim
                };
                format!("{} {shown}", c.verdict.mark())
            });
            let _ = write!(out, "{:<COLUMN_WIDTH$}", shorten(&text, COLUMN_WIDTH - 1));
        }
        out.push('\n');
    }
    out.push_str("\n✓ the measurement agrees with the claim   ✗ it does not   · figures shown, no verdict   ? not measured\n");
    if !calibrations.is_empty() {
        out.push_str("Under each model, \"real\": the real system measured on this machine (`schedlab peers`).\n");
    }
    for row in Row::ALL {
        let _ = write!(out, "\n{} ({})\n", row.title(), row.measurement());
        for &model in models {
            if let Some(cell) = cells.iter().find(|c| c.row == row && c.model == model) {
                let _ = writeln!(
                    out,
                    "  {} {:<17} {:<28} {}",
                    cell.verdict.mark(),
                    column(model),
                    cell.claim,
                    cell.measured
                );
            }
            let real = calibrations
                .iter()
                .find(|c| c.row == row && c.model == model);
            if let Some(real) = real {
                let ratio = real
                    .ratio
                    .map_or_else(String::new, |r| format!(" (ours / real {r:.2}×)"));
                let _ = writeln!(
                    out,
                    "  {} {:<17} {:<28} {}{ratio}",
                    real.verdict.mark(),
                    format!("↳ {}", real.peer),
                    "(the real system)",
                    real.measured
                );
            }
        }
    }
    out
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}
