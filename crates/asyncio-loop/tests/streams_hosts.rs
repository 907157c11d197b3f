//! Host names and address lists (`_ensure_resolved`, `create_connection`'s loop over the
//! addresses, `create_server`'s one socket per address): an IP literal needs no resolver, a
//! name is resolved off the loop's thread, a connection tries each address in turn and reports
//! CPython's combined error when none takes, a server listens on every address (the host `""`:
//! every interface) and reports a failed bind as CPython does.

use std::net::{SocketAddr, TcpListener};

use asyncio_loop::{
    open_connection, run, start_server, Address, Error, RunError, StreamReader, StreamWriter,
};

async fn echo_once(reader: StreamReader, writer: StreamWriter) -> Result<(), Error> {
    let line = reader.readline().await?;
    writer.write(&line).map_err(Error::exception)?;
    writer.drain().await?;
    writer.close();
    writer.wait_closed().await
}

/// Sends a line to `addr` and reads the echo.
async fn round_trip(addr: impl Into<Address>) -> Result<String, Error> {
    let (reader, writer) = open_connection(addr).await?;
    writer.write(b"ping\n").map_err(Error::exception)?;
    writer.drain().await?;
    let echoed = reader.readline().await?;
    writer.close();
    writer.wait_closed().await?;
    Ok(String::from_utf8_lossy(&echoed).into_owned())
}

/// A port nobody listens on: a listener's, closed again (connecting is refused).
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("its address")
}

/// The text of the exception `run` ended with.
fn message(outcome: Result<impl std::fmt::Debug, RunError>) -> String {
    match outcome {
        Err(RunError::Failed(Error::Exception(error))) => error.to_string(),
        other => format!("not an exception: {other:?}"),
    }
}

#[test]
fn a_host_and_port_connect_by_literal_and_by_name() {
    let echoed = run(async {
        let server = start_server(echo_once, ("127.0.0.1", 0)).await?;
        let port = server.sockets()[0].port();
        let by_literal = round_trip(("127.0.0.1", port)).await?;
        // `localhost` goes through the resolver (in the executor); whatever it resolves to
        // first, one of its addresses is 127.0.0.1, which the connection reaches in turn.
        let by_name = round_trip(("localhost".to_owned(), port)).await?;
        server.close();
        server.wait_closed().await?;
        Ok((by_literal, by_name))
    });
    let (by_literal, by_name) = echoed.expect("both round trips");
    assert_eq!(by_literal, "ping\n");
    assert_eq!(by_name, "ping\n");
}

#[test]
fn a_connection_tries_each_address_in_turn() {
    let echoed = run(async {
        let server = start_server(echo_once, ("127.0.0.1", 0)).await?;
        let open = server.sockets()[0];
        let echoed = round_trip(vec![closed_port(), open]).await?;
        server.close();
        server.wait_closed().await?;
        Ok(echoed)
    });
    assert_eq!(echoed.ok().as_deref(), Some("ping\n"));
}

#[test]
fn when_no_address_takes_the_errors_are_combined_as_cpython_does() {
    let closed = closed_port();
    // One address: its own error.
    let one = run(async move { round_trip(closed).await });
    let one = message(one);
    assert_eq!(
        one,
        format!(
            "[Errno 111] Connect call failed ('127.0.0.1', {})",
            closed.port()
        )
    );
    // Two that fail alike: the first error alone.
    let alike = run(async move { round_trip(vec![closed, closed]).await });
    assert_eq!(message(alike), one);
    // Two that fail differently (an IPv6 link-local address without a scope is refused by
    // `connect` itself): `Multiple exceptions: ` and both.
    let link_local: SocketAddr = "[fe80::1]:9".parse().expect("an address");
    let different = message(run(
        async move { round_trip(vec![closed, link_local]).await },
    ));
    assert!(
        different.starts_with(&format!("Multiple exceptions: {one}, ")),
        "{different}"
    );
    // Nothing to try.
    let none = message(run(async { round_trip(Vec::<SocketAddr>::new()).await }));
    assert_eq!(none, "getaddrinfo() returned empty list");
}

#[test]
fn a_server_on_every_interface_listens_on_each_family() {
    let outcome = run(async {
        let server = start_server(echo_once, ("", 0)).await?;
        let sockets = server.sockets();
        let mut echoed = Vec::new();
        for socket in &sockets {
            let loopback = if socket.is_ipv4() { "127.0.0.1" } else { "::1" };
            echoed.push(round_trip((loopback, socket.port())).await?);
        }
        server.close();
        server.wait_closed().await?;
        Ok((sockets, echoed))
    });
    let (sockets, echoed) = outcome.expect("the server runs");
    assert!(
        sockets
            .iter()
            .any(|s| s.is_ipv4() && s.ip().is_unspecified()),
        "{sockets:?}"
    );
    assert!(
        sockets.iter().all(|s| s.ip().is_unspecified()),
        "{sockets:?}"
    );
    assert!(echoed.iter().all(|line| line == "ping\n"), "{echoed:?}");
}

#[test]
fn a_failed_bind_names_the_address_as_cpython_does() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port();
    let outcome = run(async move {
        start_server(echo_once, ("127.0.0.1", port))
            .await
            .map(|_| ())
    });
    assert_eq!(
        message(outcome),
        format!(
            "[Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): \
             address already in use"
        )
    );
}
