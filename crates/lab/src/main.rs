//! `schedlab`: runs schedlab's workloads on its concurrency models, prints the essay's table and
//! result lines.
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
use indicatif::{ProgressBar, ProgressStyle};
use lab::bench::{self, Benchmark};
use lab::calibration;
use lab::essay;
use lab::experiments;
use lab::model::Model;

fn main() -> ExitCode {
    // A procpool worker spawned by a pool of this program (the spawn start method) serves and
    // exits here, before anything else runs.
    procpool::main_if_worker();
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
        Command::Table(options) => table(&options, &mut out)?,
        Command::List => out.write_all(cli::list().as_bytes())?,
        Command::Experiment {
            model,
            experiment,
            options,
            trace,
        } => {
            for line in experiments::run_here(model, experiment, &options, trace.as_deref())? {
                writeln!(out, "{line}")?;
            }
        }
        Command::Bench {
            model,
            benchmarks,
            options,
        } => bench::run(model, &benchmarks, &options, &mut out)?,
        Command::Serve { .. } => unreachable!("served above"),
        Command::Peers(options) => {
            lab::peers::main_job(&options, std::env::args().collect(), &mut out)?;
        }
        Command::Trace {
            model,
            benchmark,
            output,
            procs,
        } => trace(model, benchmark, &output, procs, &mut out)?,
        Command::FirstResult { model } => {
            let answer = experiments::startup::first_result(model);
            writeln!(
                out,
                "{}",
                experiments::startup::answer_line(model.name(), answer)?
            )?;
        }
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

/// The main job: every experiment on every model, the table on stdout, `results.json` in the
/// output folder; a progress bar on stderr while the experiments run.
fn table(options: &essay::Options, out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    writeln!(out, "{}", header(options))?;
    out.flush()?;
    let total = (options.models.len() * options.experiments.len()) as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let run = essay::run(options, |model, experiment| {
        bar.set_message(format!("{} {}", model.name(), experiment.name()));
        bar.inc(1);
    });
    bar.finish_and_clear();
    let cells = essay::cells(&run, options);
    // The real systems' column, when `schedlab peers --out` wrote peers.json here before.
    let calibrations = match calibration::load(&options.out) {
        Ok(Some(real)) => {
            let ours = lab::table::Figures::new(&run.lines);
            calibration::calibrate(&ours, &real, &options.models, options.experiment.cores)
        }
        Ok(None) => Vec::new(),
        Err(reason) => {
            eprintln!("schedlab: no calibration column: {reason}");
            Vec::new()
        }
    };
    write!(
        out,
        "\n{}",
        lab::table::render(&cells, &options.models, &calibrations)
    )?;
    let command: Vec<String> = std::env::args().collect();
    let results = essay::Results::new(&run, &cells, &calibrations, options, command);
    let cannot_write = |error| format!("cannot write into {}: {error}", options.out.display());
    let json = results.write(&options.out).map_err(cannot_write)?;
    let html = lab::report::write(&results, &options.out).map_err(cannot_write)?;
    writeln!(
        out,
        "\nschedlab: wrote {} and {}",
        json.display(),
        html.display()
    )?;
    for (model, experiment, error) in &run.failures {
        writeln!(
            out,
            "schedlab: {} {} failed: {error}",
            model.name(),
            experiment.name()
        )?;
    }
    let errors = run.failures.len();
    if errors > 0 {
        return Err(format!("{errors} experiment(s) failed (see above)").into());
    }
    Ok(())
}

/// One `#` line: the machine and the sizes, for whoever reads the results later.
fn header(options: &essay::Options) -> String {
    let online = std::thread::available_parallelism().map_or(1, usize::from);
    let usable = options.experiment.cores;
    let cores = if usable == online {
        format!("{online} cores")
    } else {
        format!("{usable} cores usable of {online} online")
    };
    let cpu = essay::cpu_model().map_or_else(String::new, |name| format!(", {name}"));
    let sizes = if options.experiment.quick {
        "quick sizes"
    } else {
        "full sizes"
    };
    format!(
        "# schedlab on {}/{}: {cores}{cpu}; {sizes}; each experiment in a process of its own",
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
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
