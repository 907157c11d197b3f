//! Tasks registered by name: what crosses the process boundary instead of a closure.
//!
//! A closure cannot cross into another process (pickle refuses lambdas for the same reason:
//! `PicklingError: Can't pickle <function <lambda>>`); a name can. [`task!`](crate::task) turns a
//! function into a unit type that implements [`Task`] and submits an [`Entry`] to a table built
//! at link time (the `inventory` crate), so every process running the same executable, whether
//! forked, forked by the fork server or spawned afresh, finds the same function under the same
//! name. The name is `module_path!()::function`, so two tasks in different modules never clash.
//!
//! ```text
//!   parent:  pool.map(square, xs) -> Request::Run { function: "app::square", args: chunk }
//!   worker:  lookup("app::square") -> Entry.run(args) -> postcard(Vec<u64>) | RemoteError
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::wire::RemoteError;

/// A function a worker process can run: made by [`task!`](crate::task).
pub trait Task: 'static {
    /// What it takes (a tuple for a task of several arguments).
    type Arg: Serialize + DeserializeOwned;
    /// What it returns.
    type Output: Serialize + DeserializeOwned;
    /// The name it is registered under.
    const NAME: &'static str;
    /// Runs it.
    fn call(arg: Self::Arg) -> Self::Output;
}

/// A task's type-erased runner: encoded chunk of arguments in, encoded results (or why not) out.
pub(crate) type Runner = fn(&[u8]) -> Result<Vec<u8>, RemoteError>;

/// One registered task: its name and its type-erased runner.
pub struct Entry {
    name: &'static str,
    run: Runner,
}

impl Entry {
    /// The entry of task `T` (used by [`task!`](crate::task)).
    pub const fn new<T: Task>() -> Entry {
        Entry {
            name: T::NAME,
            run: run_chunk::<T>,
        }
    }
}

inventory::collect!(Entry);

/// Decodes a chunk of `T::Arg`s, runs `T` on each, encodes the outputs; a panic becomes an error.
fn run_chunk<T: Task>(args: &[u8]) -> Result<Vec<u8>, RemoteError> {
    let bad = |reason: String| RemoteError::BadArguments {
        name: T::NAME.to_owned(),
        reason,
    };
    let (args, rest): (Vec<T::Arg>, &[u8]) =
        postcard::take_from_bytes(args).map_err(|error| bad(error.to_string()))?;
    // postcard is not self-describing: bytes left over are the one sign, short of a decoding
    // error, that the parent encoded another type under this name.
    if !rest.is_empty() {
        return Err(bad(format!(
            "{} bytes left over after the arguments",
            rest.len()
        )));
    }
    let outputs = catch_unwind(AssertUnwindSafe(|| {
        args.into_iter().map(T::call).collect::<Vec<_>>()
    }))
    .map_err(|payload| RemoteError::Panic {
        message: panic_message(payload.as_ref()),
    })?;
    postcard::to_stdvec(&outputs).map_err(|error| RemoteError::BadArguments {
        name: T::NAME.to_owned(),
        reason: format!("the result did not encode: {error}"),
    })
}

thread_local! {
    /// Where the last panic on this thread happened, noted by the worker's panic hook.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook in a worker: nothing is printed (CPython's worker prints no
/// traceback either; the error goes back to the parent), and the location is kept for
/// the message that goes back.
pub(crate) fn install_worker_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string());
        let _ = PANIC_LOCATION.try_with(|cell| *cell.borrow_mut() = location);
    }));
}

/// The text of a panic payload, as `std` prints it, with the location the worker's hook noted.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    };
    match PANIC_LOCATION
        .try_with(|cell| cell.borrow_mut().take())
        .ok()
        .flatten()
    {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    }
}

/// The runner registered under `name`.
pub(crate) fn lookup(name: &str) -> Option<Runner> {
    static TABLE: OnceLock<HashMap<&'static str, Runner>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        inventory::iter::<Entry>
            .into_iter()
            .map(|entry| (entry.name, entry.run))
            .collect()
    });
    table.get(name).copied()
}

/// Defines a task: a function a pool can run in its worker processes, registered by name.
///
/// ```
/// procpool::task! {
///     /// Squares a number.
///     pub fn square(x: u64) -> u64 { x * x }
/// }
/// procpool::task! {
///     /// Adds two numbers; `starmap` passes the tuple.
///     pub fn add(a: u64, b: u64) -> u64 { a + b }
/// }
/// use procpool::Task;
/// assert_eq!(square::call(7), 49);
/// assert_eq!(add::call((2, 3)), 5);
/// ```
///
/// It defines a unit struct named after the function that implements [`Task`]; pass that to
/// [`Pool::map`](crate::Pool::map) and the rest. A task of one argument takes it as is; a task of
/// several takes them as a tuple.
#[macro_export]
macro_rules! task {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($arg:ident : $argty:ty) -> $out:ty $body:block) => {
        $(#[$meta])*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        impl $crate::Task for $name {
            type Arg = $argty;
            type Output = $out;
            const NAME: &'static str = concat!(module_path!(), "::", stringify!($name));
            fn call($arg: $argty) -> $out $body
        }
        $crate::__private::inventory::submit! { $crate::registry::Entry::new::<$name>() }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $argty:ty),+ $(,)?) -> $out:ty $body:block) => {
        $(#[$meta])*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        $vis struct $name;
        impl $crate::Task for $name {
            type Arg = ($($argty,)+);
            type Output = $out;
            const NAME: &'static str = concat!(module_path!(), "::", stringify!($name));
            fn call(($($arg,)+): ($($argty,)+)) -> $out $body
        }
        $crate::__private::inventory::submit! { $crate::registry::Entry::new::<$name>() }
    };
}
