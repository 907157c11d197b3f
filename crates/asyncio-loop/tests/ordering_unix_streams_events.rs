//! `start_unix_server` / `open_unix_connection` on one loop, over a Unix socket in a temporary
//! directory where a stale socket file was left: the stale file is replaced, `sockname` and
//! `peername` give the path or `''`, the passes of `streams_events` (fewer: a Unix connect
//! completes at once), and the socket file left after the server closes, as in CPython 3.12.
//! Fixture: `unix_streams_events` in peers/python/asyncio_io_orderings.py.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use asyncio_loop::{
    open_unix_connection, run, sleep, start_unix_server, Error, SocketName, StreamReader,
    StreamWriter,
};
use common::{assert_matches_fixture, out, py_bool, py_bytes, TempDir};

/// Python's `repr` of a `str` path (those here are ASCII without quotes).
fn py_repr(name: Option<SocketName>) -> String {
    match name {
        Some(SocketName::Unix(path)) => format!("'{}'", path.display()),
        other => format!("{other:?}"),
    }
}

fn is_path(name: Option<SocketName>, path: &Path) -> &'static str {
    py_bool(name == Some(SocketName::Unix(path.to_owned())))
}

async fn handle(path: PathBuf, reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
    out("server handler start");
    let (sockname, peername) = (
        writer.get_extra_info_name("sockname"),
        writer.get_extra_info_name("peername"),
    );
    out(format!(
        "server sockname is path {} peername {}",
        is_path(sockname, &path),
        py_repr(peername)
    ));
    let line = reader.readline().await?;
    out(format!("server read {}", py_bytes(&line)));
    writer
        .write(&line.to_ascii_uppercase())
        .map_err(Error::exception)?;
    writer.drain().await?;
    out("server drained");
    let rest = reader.read_all().await?;
    out(format!("server read-to-eof {}", py_bytes(&rest)));
    writer.close();
    writer.wait_closed().await?;
    out("server wait_closed returned");
    Ok(())
}

#[test]
fn unix_streams_events() {
    let directory = TempDir::new("unix_streams_events");
    let path = directory.join("sock");
    run(async move {
        drop(UnixListener::bind(&path).map_err(Error::exception)?);
        let stale = std::fs::metadata(&path).map_err(Error::exception)?;
        out(format!(
            "stale file is a socket {}",
            py_bool(stale.file_type().is_socket())
        ));
        let server_path = path.clone();
        let server = start_unix_server(
            move |reader, writer| handle(server_path.clone(), reader, writer),
            &path,
        )
        .await?;
        out("server started");
        let names = server.socket_names();
        out(format!(
            "server socket is path {}",
            is_path(names.first().cloned(), &path)
        ));
        let (reader, writer) = open_unix_connection(&path).await?;
        out("client connected");
        let (sockname, peername) = (
            writer.get_extra_info_name("sockname"),
            writer.get_extra_info_name("peername"),
        );
        out(format!(
            "client sockname {} peername is path {}",
            py_repr(sockname),
            is_path(peername, &path)
        ));
        writer.write(b"ping\n").map_err(Error::exception)?;
        writer.drain().await?;
        out("client drained");
        for i in 0..4 {
            sleep(0.0).await?;
            out(format!("pass {i}"));
        }
        let line = reader.readline().await?;
        out(format!("client read {}", py_bytes(&line)));
        writer.write_eof();
        out("client write_eof");
        let rest = reader.read_all().await?;
        out(format!(
            "client read-to-eof {} at_eof={}",
            py_bytes(&rest),
            py_bool(reader.at_eof())
        ));
        writer.close();
        writer.wait_closed().await?;
        out("client wait_closed returned");
        server.close();
        server.wait_closed().await?;
        out("server closed");
        out(format!("socket file left {}", py_bool(path.exists())));
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("unix_streams_events");
}
