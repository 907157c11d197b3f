//! `schedlab`: runs schedlab's workloads on its concurrency models and prints result lines.
//!
//! This file only dispatches: [`cli`] turns argv into a [`cli::Command`], and each command calls
//! into the `lab` library. Usage mistakes exit with status 2, failed runs with 1.

mod cli;

use std::error::Error;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use cli::Command;
use lab::bench::{self, Benchmark, Options};
use lab::model::Model;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("schedlab: {error}\nRun `schedlab --help` for usage.");
            return ExitCode::from(2);
        }
    };
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("schedlab: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<(), Box<dyn Error>> {
    if let Command::Serve { model, addr, procs } = command {
        // Before stdout is locked below: the PORT line is printed from a scheduler thread.
        return Ok(bench::echo::serve(model, addr, procs, |addr| {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "PORT {}", addr.port());
            let _ = out.flush();
        })?);
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match command {
        Command::Help => out.write_all(cli::usage().as_bytes())?,
        Command::Everything => everything(&mut out)?,
        Command::Bench {
            model,
            benchmarks,
            options,
        } => bench::run(model, &benchmarks, &options, &mut out)?,
        Command::Serve { .. } => unreachable!("served above"),
        Command::Trace {
            model,
            benchmark,
            output,
            procs,
        } => trace(model, benchmark, &output, procs, &mut out)?,
        Command::Child {
            model,
            benchmark,
            procs,
            size_scale,
        } => {
            let size = benchmark.size(size_scale);
            // (`benchmark` comes from `model`'s table: its size is that model's.)
            for line in bench::measure_in_this_process(model, benchmark, procs, size)? {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The project's main job for now: a header describing the machine, then every benchmark on
/// every model with default options.
fn everything(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let options = Options::default();
    writeln!(out, "{}", header(&options))?;
    out.flush()?;
    for model in Model::ALL {
        let benchmarks: Vec<&'static Benchmark> = Benchmark::all_on(model).collect();
        bench::run(model, &benchmarks, &options, out)?;
    }
    Ok(())
}

/// One `#` line: the machine and the options, for whoever reads the results later.
fn header(options: &Options) -> String {
    let online = std::thread::available_parallelism().map_or(1, usize::from);
    let usable = probe::threads::available_parallelism();
    let cores = if usable == online {
        format!("{online} cores")
    } else {
        format!("{usable} cores usable of {online} online")
    };
    let cpu = cpu_model().map_or_else(String::new, |name| format!(", {name}"));
    format!(
        "# schedlab on {}/{}: {cores}{cpu}; procs {} (1 for the -1p, hog-fairness and \
         blocking-handoff workloads), median of {} runs after 1 warm-up",
        std::env::consts::OS,
        std::env::consts::ARCH,
        options.procs,
        options.reps,
    )
}

/// The CPU's model name from `/proc/cpuinfo`, where there is one.
fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// Records `benchmark` at its trace size and writes the Chrome Trace Event JSON to `path`.
fn trace(
    model: Model,
    benchmark: &'static Benchmark,
    path: &Path,
    procs: usize,
    out: &mut dyn Write,
) -> Result<(), Box<dyn Error>> {
    let events = lab::trace::record(model, benchmark, procs)?;
    let file =
        File::create(path).map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    let mut writer = BufWriter::new(file);
    probe::trace::write_chrome_trace(&events, model.name(), &mut writer)
        .and_then(|()| writer.flush())
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    writeln!(
        out,
        "schedlab: wrote {} events of {} {} (size {}) to {}; open it in https://ui.perfetto.dev",
        events.len(),
        model.name(),
        benchmark.name,
        benchmark.workload.trace_size(),
        path.display()
    )?;
    Ok(())
}
