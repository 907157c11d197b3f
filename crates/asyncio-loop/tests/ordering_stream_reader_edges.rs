//! StreamReader's edge cases (readline, readuntil, readexactly and read at EOF, over the limit,
//! in pieces, concurrently), line for line with CPython.
//! Fixture: `stream_reader_edges` in peers/python/asyncio_io_orderings.py.

mod common;

use std::io;

use asyncio_loop::{run, sleep, Error, EventLoop, StreamError, StreamReader, DEFAULT_LIMIT};
use common::{assert_matches_fixture, out, py_bool, py_bytes};

/// The Python scenario's `show`: the result, or the exception as CPython names it.
fn show(label: &str, outcome: Result<Vec<u8>, StreamError>) {
    let line = match outcome {
        Ok(data) => format!("{label} -> {}", py_bytes(&data)),
        Err(StreamError::IncompleteRead(error)) => {
            let expected = error.expected.map_or("None".to_string(), |n| n.to_string());
            format!(
                "{label} IncompleteReadError partial={} expected={expected}",
                py_bytes(&error.partial)
            )
        }
        Err(StreamError::LimitOverrun(error)) => format!(
            "{label} LimitOverrunError {} consumed={}",
            error.message, error.consumed
        ),
        Err(StreamError::LineTooLong(error)) => format!("{label} ValueError {}", error.message),
        Err(StreamError::InvalidArgument(message)) => format!("{label} ValueError {message}"),
        Err(error @ StreamError::ConcurrentRead(_)) => format!("{label} RuntimeError {error}"),
        Err(StreamError::Failed(Error::Exception(error))) => {
            match error.downcast_ref::<io::Error>() {
                Some(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                    format!("{label} ConnectionResetError {error}")
                }
                _ => format!("{label} unexpected {error}"),
            }
        }
        Err(error) => format!("{label} unexpected {error}"),
    };
    out(line);
}

fn reader(event_loop: &EventLoop, data: &[u8], eof: bool, limit: usize) -> StreamReader {
    let reader = StreamReader::new(event_loop, limit);
    reader.feed_data(data);
    if eof {
        reader.feed_eof();
    }
    reader
}

#[test]
fn stream_reader_edges() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let lp = &event_loop;

        let r = reader(lp, b"line1\nline2\nrest", true, DEFAULT_LIMIT);
        for _ in 0..4 {
            show("readline", r.readline().await);
        }
        out(format!("at_eof {}", py_bool(r.at_eof())));

        let r = reader(lp, b"abcdef", true, DEFAULT_LIMIT);
        show("readexactly(4)", r.readexactly(4).await);
        show("readexactly(4)", r.readexactly(4).await);
        show("read(10)", r.read(10).await);
        show("readexactly(0)", r.readexactly(0).await);
        show("read(0)", r.read(0).await);

        let r = reader(lp, b"a||b||c", true, DEFAULT_LIMIT);
        for _ in 0..3 {
            show("readuntil(||)", r.readuntil(b"||").await);
        }
        show("readuntil()", r.readuntil(b"").await);

        let r = reader(lp, b"xxxxxxxxxx\ntail\n", true, 5);
        show("readuntil(nl)", r.readuntil(b"\n").await);
        show("readline", r.readline().await);
        show("readline", r.readline().await);

        let r = reader(lp, b"yyyyyyyy", false, 5);
        show("readuntil(nl)", r.readuntil(b"\n").await);
        show("readline", r.readline().await);
        r.feed_data(b"ok\n");
        show("readline", r.readline().await);

        let r = StreamReader::new(lp, DEFAULT_LIMIT);
        let waiting = r.clone();
        let reading = lp.create_task(async move {
            show("readexactly(5)", waiting.readexactly(5).await);
            Ok(())
        });
        sleep(0.0).await?;
        out("reader waiting");
        r.feed_data(b"ab");
        out("fed ab");
        sleep(0.0).await?;
        r.feed_data(b"cdefg");
        out("fed cdefg");
        reading.await?;
        show("read(100)", r.read(100).await);

        let first_reader = r.clone();
        let first = lp.create_task(async move {
            show("read(1) first", first_reader.read(1).await);
            Ok(())
        });
        sleep(0.0).await?;
        show("read(1) second", r.read(1).await);
        r.set_exception(Error::exception(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "boom",
        )));
        first.await?;
        show("read(1) after set_exception", r.read(1).await);
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("stream_reader_edges");
}
