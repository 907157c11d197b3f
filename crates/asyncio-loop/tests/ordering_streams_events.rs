//! `start_server` / `open_connection` on one loop: when the `client_connected_cb` task starts,
//! when each side's reads return, `drain` on an unpaused transport, `write_eof`, and the closing
//! handshake (`wait_closed` on both sides, `Server::close` / `wait_closed`), pass by pass, as in
//! CPython. Fixture: `streams_events` in peers/python/asyncio_io_orderings.py.

mod common;

use std::net::SocketAddr;

use asyncio_loop::{open_connection, run, sleep, start_server, Error, StreamReader, StreamWriter};
use common::{assert_matches_fixture, out, py_bool, py_bytes};

async fn handle(reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
    out("server handler start");
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
fn streams_events() {
    run(async {
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let server = start_server(handle, any_port).await?;
        out("server started");
        let (reader, writer) = open_connection(server.sockets()[0]).await?;
        out("client connected");
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
        Ok(())
    })
    .expect("the scenario completes");
    assert_matches_fixture("streams_events");
}
