//! fs/promises: values, a rejection for a missing file, and `await` inside `call_async`.

use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;

use uv_loop::fs::promises;
use uv_loop::{call_async, run, JsError};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uv-fsp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn io_error(error: &JsError) -> Option<io::ErrorKind> {
    error.get().downcast_ref::<io::Error>().map(io::Error::kind)
}

#[test]
fn values_through_then() {
    let dir = temp_dir("then");
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = log.clone();
    let root = dir.clone();
    // A rejection anywhere in the chain is unhandled, which ends the run with an error.
    run(move || {
        let path = root.join("b.txt");
        let (reread, restat, listed) = (path.clone(), path.clone(), root.clone());
        promises::write_file(path, b"hello".to_vec())
            .then_promise(move |()| promises::read_file(reread))
            .then_promise(move |data| {
                sink.borrow_mut()
                    .push(String::from_utf8_lossy(&data).into_owned());
                let sink = sink.clone();
                promises::stat(restat).then_promise(move |meta| {
                    sink.borrow_mut().push(format!("len {}", meta.len()));
                    std::fs::write(listed.join("a.txt"), b"x").expect("second file");
                    let sink = sink.clone();
                    promises::readdir(listed).then(move |names| {
                        let names: Vec<_> = names.iter().map(|n| n.to_string_lossy()).collect();
                        sink.borrow_mut().push(names.join(","));
                    })
                })
            });
    })
    .expect("run");
    assert_eq!(*log.borrow(), ["hello", "len 5", "a.txt,b.txt"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_file_rejects_with_the_io_error() {
    let got = Rc::new(RefCell::new(Vec::new()));
    let slot = got.clone();
    run(move || {
        let missing = "/no/such/path/uv-loop";
        for promise in [
            promises::read_file(missing).then(|_| ()),
            promises::stat(missing).then(|_| ()),
            promises::readdir(missing).then(|_| ()),
            promises::write_file("/no/such/path/uv-loop/file", vec![1]),
        ] {
            let slot = slot.clone();
            promise.then_result(move |outcome| {
                slot.borrow_mut().push(outcome.map_err(|e| io_error(&e)));
                Ok(())
            });
        }
    })
    .expect("run");
    assert_eq!(*got.borrow(), vec![Err(Some(io::ErrorKind::NotFound)); 4]);
}

#[test]
fn await_inside_call_async() {
    let dir = temp_dir("await");
    let seen = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = seen.clone();
    let path = dir.join("f.txt");
    run(move || {
        call_async(async move {
            promises::write_file(path.clone(), b"abcdef".to_vec()).await?;
            let mut options = OpenOptions::new();
            options.read(true).write(true);
            let fd = promises::open(path.clone(), options).await?;
            let written = promises::write(&fd, b"XY".to_vec(), Some(1)).await?;
            let head = promises::read(&fd, 4, Some(0)).await?;
            promises::close(&fd).await?;
            let after_close = promises::read(&fd, 1, None).await;
            let whole = promises::read_file(path.clone()).await?;
            let missing = promises::read_file(path.with_extension("none")).await;
            sink.borrow_mut().extend([
                format!("wrote {written}"),
                String::from_utf8_lossy(&head).into_owned(),
                format!(
                    "after close {:?}",
                    after_close.map(|_| ()).map_err(|e| e
                        .get()
                        .downcast_ref::<io::Error>()
                        .and_then(io::Error::raw_os_error))
                ),
                String::from_utf8_lossy(&whole).into_owned(),
                format!(
                    "missing {:?}",
                    missing.map(|_| ()).map_err(|e| io_error(&e))
                ),
            ]);
            Ok(())
        });
    })
    .expect("run");
    assert_eq!(
        *seen.borrow(),
        [
            "wrote 2".to_owned(),
            "aXYd".to_owned(),
            format!("after close Err(Some({}))", libc::EBADF),
            "aXYdef".to_owned(),
            "missing Err(Some(NotFound))".to_owned(),
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
