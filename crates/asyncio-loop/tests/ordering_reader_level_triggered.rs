//! `add_reader` is level-triggered: a reader that does not drain its socket runs again in every
//! pass, after the handles already ready; `remove_reader` cancels a run already queued;
//! `add_writer` on a writable socket runs every pass until removed.
//! Fixture: `reader_level_triggered` in peers/python/asyncio_io_orderings.py.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;

use asyncio_loop::{run, sleep, Error, EventLoop};
use common::{assert_matches_fixture, out, py_bool, py_bytes};

#[test]
fn reader_level_triggered() {
    run(async {
        let event_loop = EventLoop::running().ok_or(Error::NoRunningLoop)?;
        let (a, b) = UnixStream::pair().map_err(Error::exception)?;
        a.set_nonblocking(true).map_err(Error::exception)?;
        b.set_nonblocking(true).map_err(Error::exception)?;
        let (a, b) = (Rc::new(a), Rc::new(b));
        let (reads, writes) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));

        let (reader_socket, reader_count) = (a.clone(), reads.clone());
        event_loop
            .add_reader(a.as_fd(), move || {
                reader_count.set(reader_count.get() + 1);
                out(format!("reader {}", reader_count.get()));
                if reader_count.get() == 3 {
                    let mut one = [0u8; 1];
                    let n = (&*reader_socket).read(&mut one).expect("one byte is there");
                    out(format!("recv {}", py_bytes(&one[..n])));
                }
            })
            .map_err(Error::exception)?;
        out("reader added");
        (&*b).write_all(b"xy").map_err(Error::exception)?;
        out("sent xy");
        let (writer_loop, writer_socket, writer_count) = (event_loop.clone(), b.clone(), writes);
        event_loop
            .add_writer(b.as_fd(), move || {
                writer_count.set(writer_count.get() + 1);
                out(format!("writer {}", writer_count.get()));
                if writer_count.get() == 2 {
                    writer_loop.remove_writer(writer_socket.as_fd());
                    out("writer removed");
                }
            })
            .map_err(Error::exception)?;
        for i in 0..5 {
            sleep(0.0).await?;
            out(format!("main {i}"));
        }
        out(format!(
            "remove_reader {}",
            py_bool(event_loop.remove_reader(a.as_fd()))
        ));
        out(format!(
            "remove_reader {}",
            py_bool(event_loop.remove_reader(a.as_fd()))
        ));
        sleep(0.0).await?;
        out("main done");
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("reader_level_triggered");
}
