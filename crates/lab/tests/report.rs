//! `report.html` opened in headless Chromium: it loads with no console error, the table and
//! every plot are in the rendered page, and a screenshot is written for the record
//! (`report-screenshot.png` in cargo's `CARGO_TARGET_TMPDIR`, under `target/`).
//!
//! Chromium is Debian's `chromium` package, which `.ci/run` installs and then sets
//! `SCHEDLAB_REQUIRE_CHROMIUM=1`: there a missing browser fails the test; elsewhere the test
//! says it skipped and passes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::schedlab;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn headless(browser: &str, page: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn report_renders_in_chromium_with_its_table_and_plots() {
    let Some(browser) = chromium() else {
        let required = std::env::var_os("SCHEDLAB_REQUIRE_CHROMIUM").is_some();
        assert!(
            !required,
            "SCHEDLAB_REQUIRE_CHROMIUM is set but no chromium is installed"
        );
        eprintln!("skipped: no chromium installed (Debian: apt-get install chromium)");
        return;
    };
    let out = std::env::temp_dir().join(format!("schedlab-report-{}", std::process::id()));
    let out_arg = out.to_str().expect("temp dir is UTF-8");
    let run = schedlab(&[
        "--quick",
        "--models",
        "goroutines,asyncio-loop",
        "--experiments",
        "concurrency,switching",
        "--out",
        out_arg,
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = out.join("report.html");

    let dom = headless(browser, &page, &["--dump-dom"]);
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "chromium failed: {log}");
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );
    assert!(
        html.contains(r#"<table id="claims">"#),
        "no table in the rendered page"
    );
    for title in [
        "Speedup of a CPU-bound job",
        "Wall time of the concurrent 100 ms waits",
        "Worst delay of a 1 ms ticker beside a hog",
        "OS threads holding the concurrent waits",
        "Round trip between two tasks",
        // Under the goroutines concurrency timeline, from the counters sampled into its trace.
        "goroutines: run-queue length and steals, sampled every 1 ms",
    ] {
        assert!(
            html.contains(title),
            "no plot {title:?} in the rendered page"
        );
    }

    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let shot = headless(
        browser,
        &page,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,1800",
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let size = std::fs::metadata(&screenshot).map_or(0, |m| m.len());
    assert!(size > 10_000, "screenshot of {size} bytes");
    let _ = std::fs::remove_dir_all(&out);
}
