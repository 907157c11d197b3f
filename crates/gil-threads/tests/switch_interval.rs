//! `sys.setswitchinterval` / `sys.getswitchinterval`, replayed against the lines the real CPython
//! printed (tests/fixtures/switch_interval.txt, `python3 peers/python/gil_fixtures.py --write`).

use gil_threads::{GilMode, Interpreter};

const FIXTURE: &str = include_str!("fixtures/switch_interval.txt");

/// What gil-threads prints for one fixture line, in the fixture's format.
fn replay(line: &str) -> String {
    let interpreter = Interpreter::new(GilMode::On);
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[..] {
        ["getswitchinterval", _] => {
            format!("getswitchinterval {:?}", interpreter.switch_interval())
        }
        ["setswitchinterval", value, ..] => {
            let seconds: f64 = value.parse().expect("fixture value parses");
            match interpreter.set_switch_interval(seconds) {
                Ok(()) => format!(
                    "setswitchinterval {value} ok {:?}",
                    interpreter.switch_interval()
                ),
                Err(error) => format!("setswitchinterval {value} ValueError {error}"),
            }
        }
        _ => panic!("unknown fixture line {line:?}"),
    }
}

#[test]
fn matches_cpython_for_every_finite_value() {
    let mut replayed = 0;
    for line in FIXTURE.lines().filter(|line| !line.starts_with('#')) {
        let value = line.split_whitespace().nth(1).unwrap_or_default();
        if value == "nan" || value == "inf" {
            continue;
        }
        assert_eq!(replay(line), line);
        replayed += 1;
    }
    assert_eq!(replayed, 7, "the fixture lost lines");
}

#[test]
fn rejects_non_finite_values_that_cpython_accepts() {
    // CPython 3.11 stores garbage for these (nan reads back as 9223372036854.775, inf as 0.0:
    // see the fixture); gil-threads refuses them and keeps the interval it had.
    assert!(FIXTURE.contains("setswitchinterval nan ok"));
    let interpreter = Interpreter::new(GilMode::On);
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let error = interpreter.set_switch_interval(value).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("switch interval must be finite"));
        assert!(error.interval().is_nan() || error.interval() == value);
        assert_eq!(interpreter.switch_interval(), 0.005);
    }
}

#[test]
fn a_rejected_value_keeps_the_old_interval() {
    let interpreter = Interpreter::new(GilMode::Off);
    interpreter.set_switch_interval(0.002).unwrap();
    assert!(interpreter.set_switch_interval(0.0).is_err());
    assert!(interpreter.set_switch_interval(-0.0).is_err());
    assert_eq!(interpreter.switch_interval(), 0.002);
}

#[test]
fn gil_mode_parses_the_values_of_x_gil() {
    assert_eq!("on".parse::<GilMode>(), Ok(GilMode::On));
    assert_eq!("1".parse::<GilMode>(), Ok(GilMode::On));
    assert_eq!("off".parse::<GilMode>(), Ok(GilMode::Off));
    assert_eq!("0".parse::<GilMode>(), Ok(GilMode::Off));
    assert_eq!(
        "maybe".parse::<GilMode>().unwrap_err().to_string(),
        "gil mode \"maybe\" is none of on, off, 1, 0"
    );
    assert_eq!(GilMode::Off.to_string(), "off");
}
