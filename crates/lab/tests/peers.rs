//! `schedlab peers` as a user runs it: the real Go, CPython and Node where installed, a skip
//! line with the reason where not, `peers.json`, and usage errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lab::peers::{Peer, Results, SCHEMA};

mod common;

use common::schedlab;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder for one test's output, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("schedlab-peers-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn results(&self) -> Results {
        let json = std::fs::read_to_string(self.0.join("peers.json")).expect("peers.json written");
        serde_json::from_str(&json).expect("peers.json deserializes")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .env("GO_NO_INSTALL", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether this machine has the peer's program, found the way the lab finds it.
fn installed(peer: Peer) -> bool {
    match peer {
        Peer::Go => {
            let install = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../peers/go/install.sh");
            succeeds("bash", &[install.to_str().expect("a UTF-8 path")])
                || succeeds("go", &["version"])
        }
        Peer::Node => succeeds("node", &["--version"]),
        _ => succeeds("python3", &["--version"]),
    }
}

fn peers(args: &[&str], out: &Scratch, path: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_schedlab"));
    command.arg("peers").args(args).arg("--out").arg(&out.0);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("run schedlab peers")
}

#[test]
fn switching_runs_on_every_installed_peer_and_skips_the_others() {
    let out = Scratch::new("switching");
    let output = peers(&["--quick", "--experiments", "switching"], &out, None);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let results = out.results();
    assert_eq!(results.schema, SCHEMA);
    assert!(results.command.iter().any(|word| word == "peers"));
    let printed = probe::result::parse_lines(&text(&output.stdout));
    assert_eq!(
        printed.len(),
        results.figures.len(),
        "stdout and peers.json agree"
    );
    for peer in Peer::ALL {
        let figures: Vec<_> = results
            .figures
            .iter()
            .filter(|figure| figure.model == peer.name())
            .collect();
        let skipped: Vec<_> = results
            .skipped
            .iter()
            .filter(|skip| skip.peer == peer.name())
            .collect();
        if installed(peer) {
            assert!(skipped.is_empty(), "{}: {skipped:?}", peer.name());
            let mut metrics: Vec<&str> = figures.iter().map(|f| f.metric.as_str()).collect();
            metrics.sort_unstable();
            assert_eq!(
                metrics,
                ["ns_per_round_trip", "ns_per_yield"],
                "{}",
                peer.name()
            );
            for figure in figures {
                assert_eq!(figure.experiment, "switching");
                assert_eq!(figure.unit, "ns");
                assert!(figure.value > 0.0, "{figure:?}");
            }
        } else {
            assert!(figures.is_empty(), "{}: {figures:?}", peer.name());
            assert_eq!(skipped.len(), 1, "{}: {skipped:?}", peer.name());
            assert!(!skipped[0].reason.is_empty());
            assert!(
                stderr.contains(&format!("skipped {}", peer.name())),
                "{stderr}"
            );
        }
    }
}

#[test]
fn a_machine_without_the_peers_skips_each_with_its_reason() {
    // An empty PATH: no python3, node, go, nor the bash that runs peers/go/install.sh.
    let out = Scratch::new("missing");
    let empty = Scratch::new("empty-path");
    std::fs::create_dir_all(&empty.0).expect("create a folder");
    let path = empty.0.to_str().expect("a UTF-8 path");
    let output = peers(
        &["--quick", "--experiments", "spawn,memory"],
        &out,
        Some(path),
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    let results = out.results();
    assert!(results.figures.is_empty());
    assert_eq!(results.skipped.len(), Peer::ALL.len() * 2);
    for peer in Peer::ALL {
        for experiment in ["spawn", "memory"] {
            let skip = results
                .skipped
                .iter()
                .find(|s| s.peer == peer.name() && s.experiment == experiment)
                .unwrap_or_else(|| panic!("{} {experiment} not skipped", peer.name()));
            assert!(skip.reason.contains("not found"), "{skip:?}");
        }
        let line = format!("skipped {} (every experiment): ", peer.name());
        assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    }
}

#[test]
fn a_peer_that_fails_is_skipped_with_its_stderr_and_fails_the_run() {
    // A peers folder whose Python program fails and whose Node program prints no figures.
    let fake = Scratch::new("fake-peers");
    let experiments = fake.0.join("experiments");
    std::fs::create_dir_all(&experiments).expect("create a folder");
    let python = "import sys\nprint('oops: no such luck', file=sys.stderr)\nsys.exit(1)\n";
    std::fs::write(experiments.join("experiments.py"), python).expect("write");
    std::fs::write(
        experiments.join("experiments.js"),
        "console.log('hello');\n",
    )
    .expect("write");
    let out = Scratch::new("failing");
    let output = Command::new(env!("CARGO_BIN_EXE_schedlab"))
        .args(["peers", "--quick", "--experiments", "spawn", "--out"])
        .arg(&out.0)
        .env(lab::peers::PEERS_DIR_ENV, &fake.0)
        .output()
        .expect("run schedlab peers");
    let stderr = text(&output.stderr);
    let any_installed = Peer::ALL
        .into_iter()
        .any(|peer| peer != Peer::Go && installed(peer));
    let want_status = if any_installed { 1 } else { 0 };
    assert_eq!(output.status.code(), Some(want_status), "{stderr}");
    let results = out.results();
    assert!(results.figures.is_empty(), "{:?}", results.figures);
    for peer in [
        Peer::CpythonMp,
        Peer::CpythonThreads,
        Peer::CpythonAsyncio,
        Peer::Node,
    ] {
        let skip = results
            .skipped
            .iter()
            .find(|s| s.peer == peer.name() && s.experiment == "spawn")
            .unwrap_or_else(|| panic!("{} spawn not skipped", peer.name()));
        let want = match (installed(peer), peer) {
            (false, _) => "not found",
            (true, Peer::Node) => "printed no result lines",
            (true, _) => "oops: no such luck",
        };
        assert!(skip.reason.contains(want), "{skip:?}");
        assert!(stderr.contains(&format!("skipped {} spawn: ", peer.name())) || !installed(peer));
    }
    if any_installed {
        assert!(stderr.contains("peer experiment(s) failed"), "{stderr}");
    }
}

#[test]
fn startup_is_timed_from_outside_on_every_installed_peer() {
    let out = Scratch::new("startup");
    let output = peers(&["--quick", "--experiments", "startup"], &out, None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let results = out.results();
    for peer in Peer::ALL {
        let figures: Vec<_> = results
            .figures
            .iter()
            .filter(|figure| figure.model == peer.name())
            .collect();
        if installed(peer) {
            // The peer printed only its answer; the time is the lab's, from spawn to it.
            assert_eq!(figures.len(), 1, "{}: {figures:?}", peer.name());
            let figure = figures[0];
            assert_eq!(
                (figure.experiment.as_str(), figure.metric.as_str()),
                ("startup", "exec_to_result_us")
            );
            assert_eq!(figure.unit, "us");
            assert!(figure.value > 0.0, "{figure:?}");
        } else {
            assert!(figures.is_empty(), "{}: {figures:?}", peer.name());
        }
    }
}

#[test]
fn bad_flags_exit_2_without_running_anything() {
    let cases: &[&[&str]] = &[
        &["peers", "--experiments", "no-such-experiment"],
        &["peers", "--experiments"],
        &["peers", "--models", "goroutines"],
        &["peers", "--cores", "2"],
        &["peers", "--quick=yes"],
        &["peers", "--out", ""],
        &["peers", "extra"],
    ];
    for args in cases {
        let output = schedlab(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("schedlab: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}
