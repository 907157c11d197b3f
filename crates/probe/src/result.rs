//! Result lines: the one format in which every benchmark reports a figure.
//!
//! ```text
//! <model> <workload> <metric> <value> <unit>
//! goroutines skynet wall_ms 143.2 ms
//! ```
//!
//! The lab, the peers in `peers/` (Go, CPython, Node) and the plotting scripts all speak this
//! format, so its rules are strict on output and forgiving on input:
//!
//! - the four text fields are non-empty and contain no whitespace;
//! - the value is finite and printed in plain decimal with at most three decimals, trailing zeros
//!   trimmed (`143.2`, `7`, `0.001`, `-2.5`), never in scientific notation;
//! - a reader splits on any run of whitespace and accepts any float Rust can parse, so lines
//!   written by other languages (`1e-3`, `143.20`) read back; [`parse_lines`] skips lines that are
//!   not result lines, so prose interleaved with results does no harm (as long as the prose is not
//!   itself five words with a number fourth: the format cannot tell such a line from a result).

use std::error::Error;
use std::fmt;
use std::str::FromStr;

/// One measured figure: `<model> <workload> <metric> <value> <unit>`.
///
/// Build one with [`ResultLine::new`], which checks the field rules; print it with `Display`;
/// read one back with `str::parse`.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultLine {
    /// The model or peer measured: `goroutines`, `gil-threads`, `go`, `node`, ...
    pub model: String,
    /// The workload run: `skynet`, `ping-pong`, ...
    pub workload: String,
    /// What was measured: `wall_ms`, `peak_rss`, ...
    pub metric: String,
    /// The figure itself; always finite.
    pub value: f64,
    /// The unit of `value`: `ms`, `bytes`, `ops/s`, ...
    pub unit: String,
}

impl ResultLine {
    /// Builds a result line, rejecting empty fields, fields containing whitespace and non-finite
    /// values.
    pub fn new(
        model: impl Into<String>,
        workload: impl Into<String>,
        metric: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
    ) -> Result<Self, InvalidResultLine> {
        let line = ResultLine {
            model: model.into(),
            workload: workload.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
        };
        let fields = [
            ("model", &line.model),
            ("workload", &line.workload),
            ("metric", &line.metric),
            ("unit", &line.unit),
        ];
        for (field, text) in fields {
            if text.is_empty() {
                return Err(InvalidResultLine(Invalid::Empty(field)));
            }
            if text.chars().any(char::is_whitespace) {
                return Err(InvalidResultLine(Invalid::Whitespace(field)));
            }
        }
        if !line.value.is_finite() {
            return Err(InvalidResultLine(Invalid::NonFinite(line.value)));
        }
        Ok(line)
    }
}

impl fmt::Display for ResultLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.model,
            self.workload,
            self.metric,
            format_value(self.value),
            self.unit
        )
    }
}

/// Plain decimal, at most three decimals, trailing zeros and a bare point trimmed, no `-0`.
fn format_value(value: f64) -> String {
    let mut text = format!("{value:.3}");
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    if text == "-0" {
        text.remove(0);
    }
    text
}

impl FromStr for ResultLine {
    type Err = ParseResultLineError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [model, workload, metric, value, unit] = fields[..] else {
            return Err(ParseResultLineError(ParseProblem::FieldCount(fields.len())));
        };
        let number: f64 = value
            .parse()
            .map_err(|_| ParseResultLineError(ParseProblem::Value(value.to_owned())))?;
        ResultLine::new(model, workload, metric, number, unit)
            .map_err(|invalid| ParseResultLineError(ParseProblem::Invalid(invalid)))
    }
}

/// Every line of `text` that parses as a [`ResultLine`], in order; other lines are skipped.
pub fn parse_lines(text: &str) -> Vec<ResultLine> {
    text.lines().filter_map(|line| line.parse().ok()).collect()
}

/// The error of [`ResultLine::new`]: a field broke the format's rules.
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidResultLine(Invalid);

#[derive(Clone, Debug, PartialEq)]
enum Invalid {
    Empty(&'static str),
    Whitespace(&'static str),
    NonFinite(f64),
}

impl fmt::Display for InvalidResultLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Invalid::Empty(field) => write!(f, "the {field} field is empty"),
            Invalid::Whitespace(field) => write!(f, "the {field} field contains whitespace"),
            Invalid::NonFinite(value) => write!(f, "the value {value} is not finite"),
        }
    }
}

impl Error for InvalidResultLine {}

/// The error of parsing a [`ResultLine`] from text.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseResultLineError(ParseProblem);

#[derive(Clone, Debug, PartialEq)]
enum ParseProblem {
    FieldCount(usize),
    Value(String),
    Invalid(InvalidResultLine),
}

impl fmt::Display for ParseResultLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ParseProblem::FieldCount(count) => write!(
                f,
                "expected 5 fields `<model> <workload> <metric> <value> <unit>`, found {count}"
            ),
            ParseProblem::Value(text) => write!(f, "the value {text:?} is not a number"),
            ParseProblem::Invalid(invalid) => write!(f, "{invalid}"),
        }
    }
}

impl Error for ParseResultLineError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.0 {
            ParseProblem::Invalid(invalid) => Some(invalid),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_lines, ResultLine};

    fn line(value: f64) -> String {
        ResultLine::new("goroutines", "skynet", "wall_ms", value, "ms")
            .unwrap()
            .to_string()
    }

    #[test]
    fn prints_the_documented_example() {
        assert_eq!(line(143.2), "goroutines skynet wall_ms 143.2 ms");
    }

    #[test]
    fn values_print_in_plain_decimal_with_at_most_three_decimals() {
        let cases = [
            (7.0, "7"),
            (0.0, "0"),
            (-0.0, "0"),
            (-0.0001, "0"),
            (0.001, "0.001"),
            (0.0004, "0"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (1.23456, "1.235"),
            (100.0, "100"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0"),
        ];
        for (value, printed) in cases {
            assert_eq!(
                line(value),
                format!("goroutines skynet wall_ms {printed} ms")
            );
        }
    }

    #[test]
    fn constructor_rejects_broken_fields() {
        let messages = [
            ResultLine::new("", "w", "m", 1.0, "u"),
            ResultLine::new("a b", "w", "m", 1.0, "u"),
            ResultLine::new("a", "w\t", "m", 1.0, "u"),
            ResultLine::new("a", "w", "m", f64::NAN, "u"),
            ResultLine::new("a", "w", "m", f64::INFINITY, "u"),
            ResultLine::new("a", "w", "m", 1.0, ""),
        ]
        .map(|made| made.unwrap_err().to_string());
        assert_eq!(
            messages,
            [
                "the model field is empty",
                "the model field contains whitespace",
                "the workload field contains whitespace",
                "the value NaN is not finite",
                "the value inf is not finite",
                "the unit field is empty",
            ]
        );
    }

    #[test]
    fn parses_what_it_prints() {
        let printed = ResultLine::new("uv-loop", "ping-pong", "ops", 12345.678, "ops/s").unwrap();
        let parsed: ResultLine = printed.to_string().parse().unwrap();
        assert_eq!(parsed, printed);
    }

    #[test]
    fn parses_lines_written_by_other_languages() {
        let parsed: ResultLine = "  node  skynet wall_ms 1.5e2\tms \n".parse().unwrap();
        assert_eq!(
            parsed,
            ResultLine::new("node", "skynet", "wall_ms", 150.0, "ms").unwrap()
        );
    }

    #[test]
    fn parse_errors_say_what_was_wrong() {
        let error = |text: &str| text.parse::<ResultLine>().unwrap_err().to_string();
        assert_eq!(
            error("go skynet wall_ms 1"),
            "expected 5 fields `<model> <workload> <metric> <value> <unit>`, found 4"
        );
        assert_eq!(
            error("go skynet wall_ms fast ms"),
            "the value \"fast\" is not a number"
        );
        assert_eq!(
            error("go skynet wall_ms NaN ms"),
            "the value NaN is not finite"
        );
    }

    #[test]
    fn parse_lines_keeps_result_lines_and_skips_prose() {
        let text = "starting skynet (1000000 goroutines)\n\
                    goroutines skynet wall_ms 143.2 ms\n\
                    \n\
                    go skynet wall_ms 98 ms\n\
                    checksum ok\n";
        let parsed = parse_lines(text);
        let models: Vec<&str> = parsed.iter().map(|line| line.model.as_str()).collect();
        assert_eq!(models, ["goroutines", "go"]);
        assert_eq!(parsed[1].value, 98.0);
    }
}
