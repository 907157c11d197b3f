//! The programs behind the peers: python3 and node as found on PATH; the Go program built once
//! from `peers/experiments` with the Go of `peers/go/install.sh` (never installing: the
//! `GO_NO_INSTALL=1` mode), else a `go` 1.22+ on PATH.
//!
//! ```text
//!   Program::find ── Python: `python3 --version` runs ─► ["python3", ".../experiments.py"]
//!                 ── Node:   `node --version` runs    ─► ["node", ".../experiments.js"]
//!                 ── Go:     install.sh ─┬─ its go ───┐
//!                                        └─ go on PATH ┴─► go build (GOTOOLCHAIN=local,
//!                                                          GOPROXY=off) ─► [binary]
//!   any step failing: Unavailable, with why (every experiment of the peer is then skipped)
//! ```

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::child::{last_line, run_with_limit};

/// How long building the Go program may take (a cold build cache compiles the runtime).
const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// The oldest `go` on PATH the program builds with (range over int, per-iteration loop vars).
const GO_MIN_MINOR: u32 = 22;

/// The three programs behind the five peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Program {
    Go,
    Python,
    Node,
}

impl Program {
    /// The command (program and leading arguments) that runs an experiment, or why there is
    /// none. Go's program is built into `build` first.
    pub(super) fn find(self, peers: &Path, build: &Path) -> Result<Vec<String>, Unavailable> {
        let script = |name: &str| peers.join("experiments").join(name);
        match self {
            Program::Python => {
                version_of("python3", "--version")?;
                Ok(vec![
                    "python3".to_owned(),
                    script("experiments.py").display().to_string(),
                ])
            }
            Program::Node => {
                version_of("node", "--version")?;
                Ok(vec![
                    "node".to_owned(),
                    script("experiments.js").display().to_string(),
                ])
            }
            Program::Go => {
                let binary = build_go(peers, build)?;
                Ok(vec![binary.display().to_string()])
            }
        }
    }
}

/// Why a peer's program cannot run here.
#[derive(Debug)]
pub(super) enum Unavailable {
    /// The interpreter or toolchain is not installed (or does not start).
    NotFound { program: String, why: String },
    /// `go` on PATH is older than the program needs.
    GoTooOld(String),
    /// The Go program did not build.
    Build(String),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::NotFound { program, why } => write!(f, "{program} not found: {why}"),
            Unavailable::GoTooOld(version) => write!(
                f,
                "no Go 1.27 from peers/go/install.sh, and `go` on PATH is {version:?}, older \
                 than 1.{GO_MIN_MINOR}; install Go with peers/go/install.sh"
            ),
            Unavailable::Build(why) => write!(f, "go build of peers/experiments failed: {why}"),
        }
    }
}

/// The first line `program flag` prints, if it starts and succeeds.
fn version_of(program: &str, flag: &str) -> Result<String, Unavailable> {
    let not_found = |why: String| Unavailable::NotFound {
        program: program.to_owned(),
        why,
    };
    let output = Command::new(program)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| not_found(format!("cannot run `{program} {flag}`: {error}")))?;
    if !output.status.success() {
        return Err(not_found(format!(
            "`{program} {flag}` exited with {}: {}",
            output.status,
            last_line(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Finds Go (peers/go/install.sh's, else one on PATH) and builds peers/experiments into `build`.
fn build_go(peers: &Path, build: &Path) -> Result<PathBuf, Unavailable> {
    let install = peers.join("go/install.sh");
    let installed = Command::new("bash")
        .arg(&install)
        .env("GO_NO_INSTALL", "1")
        .stdin(Stdio::null())
        .output();
    let mut command = match installed {
        Ok(output) if output.status.success() => {
            let go = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            let mut command = Command::new(&go);
            // The wheel's toolchain: its GOROOT is two folders up (as peers/go/run.sh sets it).
            if let Some(root) = go.parent().and_then(Path::parent) {
                command.env("GOROOT", root);
            }
            command
        }
        installed => {
            let from_install = match installed {
                Ok(output) => last_line(&output.stderr),
                Err(error) => format!("cannot run {}: {error}", install.display()),
            };
            let version = version_of("go", "version").map_err(|error| Unavailable::NotFound {
                program: "Go".to_owned(),
                why: format!("{from_install}; and on PATH: {error}"),
            })?;
            if go_minor(&version).is_none_or(|minor| minor < GO_MIN_MINOR) {
                return Err(Unavailable::GoTooOld(version));
            }
            Command::new("go")
        }
    };
    fs::create_dir_all(build).map_err(|error| {
        Unavailable::Build(format!("cannot create {}: {error}", build.display()))
    })?;
    let binary = build.join("experiments-go");
    command
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(peers.join("experiments"))
        // Nothing Go runs here may reach the network.
        .envs([
            ("GOTOOLCHAIN", "local"),
            ("GOFLAGS", "-mod=mod"),
            ("GOPROXY", "off"),
            ("GOSUMDB", "off"),
        ]);
    let finished = run_with_limit(command, BUILD_LIMIT)
        .map_err(|error| Unavailable::Build(error.to_string()))?;
    if !finished.status.success() {
        return Err(Unavailable::Build(format!(
            "exited with {}: {}",
            finished.status,
            last_line(&finished.stderr)
        )));
    }
    Ok(binary)
}

/// The minor version in `go version`'s `go version go1.27.3 linux/amd64`.
fn go_minor(version: &str) -> Option<u32> {
    let release = version.split_whitespace().find(|w| w.starts_with("go1."))?;
    let minor = release
        .trim_start_matches("go1.")
        .split(['.', 'r', 'b'])
        .next()?;
    minor.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::go_minor;

    #[test]
    fn go_versions_parse() {
        assert_eq!(go_minor("go version go1.27.3 linux/amd64"), Some(27));
        assert_eq!(go_minor("go version go1.22rc1 linux/amd64"), Some(22));
        assert_eq!(go_minor("go version go1.21 linux/amd64"), Some(21));
        assert_eq!(go_minor("gccgo (GCC) 13"), None);
    }
}
