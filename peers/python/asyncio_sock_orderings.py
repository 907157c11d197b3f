"""sock=: servers, connections and datagram endpoints on a socket the caller made, which
crates/asyncio-loop must reproduce (create_server, start_server, create_unix_server,
start_unix_server, create_connection, open_connection, create_unix_connection,
open_unix_connection and create_datagram_endpoint with sock=).
Usage: python3 asyncio_sock_orderings.py SCENARIO   prints one event per line
       python3 asyncio_sock_orderings.py --list     prints the scenario names

Same contract as asyncio_io_orderings.py: each scenario has a twin in
crates/asyncio-loop/tests/ordering_<scenario>.rs that compares its lines with
tests/fixtures/<scenario>.txt, written by regen-fixtures.sh. Each refused socket prints
CPython's ValueError (its checks come in base_events.py's order: the type, then for a datagram
endpoint the other options, listed in the order of its `opts` dict) and whether the socket is
still open (CPython closes nothing it did not make). A socket's repr names its descriptor, which
differs from run to run and from the Rust test's: `fd=N` stands for it here. Every socket is
given as socket.socket(fileno=...), as a socket handed over by descriptor is (systemd's socket
activation): its family, type and proto are then the kernel's (proto=6 for TCP, 17 for UDP),
as the Rust side reads them. These paths of base_events.py and unix_events.py are the same code
in 3.11.7 and 3.12.1; the runs over loopback and socketpairs rely, as asyncio_io_orderings.py's
do, on each send being queued inside the system call.
"""
import asyncio
import os
import re
import socket
import sys
import tempfile

out = print


def given(sock):
    """The socket as one handed over by descriptor: socket.socket(fileno=fd)."""
    return socket.socket(fileno=sock.detach())


def no_fd(exc):
    return re.sub(r"fd=\d+", "fd=N", str(exc))


async def refuse(label, make, sock):
    """Give `sock` to `make`; print the ValueError, and whether the socket is still open."""
    try:
        made = await make(sock)
        out(f"{label}: accepted {made!r}")
    except ValueError as exc:
        out(f"{label}: ValueError {no_fd(exc)}")
    out(f"{label}: socket still open {sock.fileno() != -1}")
    sock.close()


def unbound(family, kind):
    return given(socket.socket(family, kind))


class Printer(asyncio.Protocol):
    """A Protocol that prints every callback with its name; `done` gets a result in
    connection_lost."""

    def __init__(self, name, done=None):
        self.name, self.done = name, done

    def connection_made(self, transport):
        out(f"{self.name} connection_made")

    def data_received(self, data):
        out(f"{self.name} data_received {bytes(data)!r}")

    def eof_received(self):
        out(f"{self.name} eof_received")

    def connection_lost(self, exc):
        out(f"{self.name} connection_lost {exc}")
        if self.done is not None:
            self.done.set_result(None)


class DatagramPrinter(asyncio.DatagramProtocol):
    """asyncio_io_orderings.py's DatagramPrinter; an echoing one sends each datagram back
    upper-cased."""

    def __init__(self, name, done=None, peer=None, echo=False):
        self.name, self.done, self.peer, self.echo = name, done, peer, echo
        self.transport = None

    def connection_made(self, transport):
        out(f"{self.name} connection_made")
        self.transport = transport

    def datagram_received(self, data, addr):
        out(f"{self.name} datagram_received {bytes(data)!r} from peer {addr == self.peer}")
        if self.echo:
            self.transport.sendto(data.upper(), addr)

    def error_received(self, exc):
        out(f"{self.name} error_received {type(exc).__name__} {exc}")

    def connection_lost(self, exc):
        out(f"{self.name} connection_lost {exc}")
        if self.done is not None:
            self.done.set_result(None)


def sock_datagram():
    """create_datagram_endpoint(sock=): a socket not SOCK_DGRAM is refused first (even with
    other options), then a datagram socket with any address, family, reuse_port or
    allow_broadcast ("socket modifier keyword arguments ..."); nothing is closed. Then a bound
    UDP socket (an echo server) and a connected one (its client, whose sendto needs no
    address), and a Unix datagram socket connected to a named one. (Not a socketpair: its peer
    is unnamed, getpeername() gives '', which is false, so CPython's transport takes it for
    unconnected and sendto(data) fails with TypeError; crates/asyncio-loop sends to the peer.)"""
    AF_INET, AF_UNIX = socket.AF_INET, socket.AF_UNIX
    STREAM, DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM

    async def main():
        loop = asyncio.get_running_loop()

        def endpoint(**options):
            return lambda sock: loop.create_datagram_endpoint(
                lambda: DatagramPrinter("refused"), sock=sock, **options)

        await refuse("tcp", endpoint(), unbound(AF_INET, STREAM))
        await refuse("tcp with local_addr", endpoint(local_addr=("127.0.0.1", 0)),
                     unbound(AF_INET, STREAM))
        a, b = socket.socketpair(AF_UNIX, STREAM)
        await refuse("unix stream", endpoint(), given(a))
        b.close()
        await refuse("udp with local_addr", endpoint(local_addr=("127.0.0.1", 0)),
                     unbound(AF_INET, DGRAM))
        await refuse("udp with the rest",
                     endpoint(remote_addr=("127.0.0.1", 9), family=AF_INET, reuse_port=True,
                              allow_broadcast=True),
                     unbound(AF_INET, DGRAM))
        await refuse("udp with both addresses",
                     endpoint(local_addr=("localhost", 0), remote_addr=("127.0.0.1", 9)),
                     unbound(AF_INET, DGRAM))
        await refuse("udp with family", endpoint(family=socket.AF_INET6),
                     unbound(AF_INET, DGRAM))
        await refuse("unix datagram with a path",
                     endpoint(family=AF_UNIX, local_addr="/nonexistent/schedlab.sock"),
                     unbound(AF_UNIX, DGRAM))

        server_sock = socket.socket(AF_INET, DGRAM)
        server_sock.bind(("127.0.0.1", 0))
        server_addr = server_sock.getsockname()
        client_sock = socket.socket(AF_INET, DGRAM)
        client_sock.connect(server_addr)
        client_addr = client_sock.getsockname()
        server_done, client_done = loop.create_future(), loop.create_future()
        loop.call_soon(out, "call_soon before the server endpoint")
        server, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("server", server_done, client_addr, echo=True),
            sock=given(server_sock))
        out("server created")
        out(f"server sockname is the socket's {server.get_extra_info('sockname') == server_addr}"
            f" peername {server.get_extra_info('peername')}")
        client, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("client", client_done, server_addr), sock=given(client_sock))
        out("client created")
        out(f"client peername is server {client.get_extra_info('peername') == server_addr}")
        client.sendto(b"ping")
        out("client sent ping")
        for i in range(3):
            await asyncio.sleep(0)
            out(f"pass {i}")
        client.close()
        server.close()
        await client_done
        await server_done
        out("udp endpoints closed")

        with tempfile.TemporaryDirectory() as directory:
            path_a, path_b = os.path.join(directory, "a"), os.path.join(directory, "b")
            a, b = socket.socket(AF_UNIX, DGRAM), socket.socket(AF_UNIX, DGRAM)
            a.bind(path_a)
            b.bind(path_b)
            a.connect(path_b)
            unix_done = loop.create_future()
            unix, _ = await loop.create_datagram_endpoint(
                lambda: DatagramPrinter("unix", unix_done, path_b), sock=given(a))
            out(f"unix peername is b {unix.get_extra_info('peername') == path_b}")
            unix.sendto(b"to b")
            out(f"b got {b.recv(100)!r}")
            b.sendto(b"back", path_a)
            for i in range(2):
                await asyncio.sleep(0)
                out(f"pass {i}")
            unix.close()
            await unix_done
            b.close()
            out("unix endpoint closed")

    asyncio.run(main())


async def echo_line(reader, writer):
    line = await reader.readline()
    out(f"handler read {line!r}")
    writer.write(line.upper())
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    out("handler closed")


def sock_server():
    """create_server/start_server(sock=) refuse a socket not SOCK_STREAM, and
    create_unix_server/start_unix_server(sock=) one not AF_UNIX SOCK_STREAM; nothing is closed.
    Then a bound TCP socket, not yet listening, served by start_server (the server listens;
    Server.close closes it: a connection is refused after), and a Unix socket bound to a path
    and listening, served by start_unix_server (the file stays)."""
    AF_INET, AF_UNIX = socket.AF_INET, socket.AF_UNIX
    STREAM, DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM

    async def main():
        loop = asyncio.get_running_loop()
        await refuse("create_server udp",
                     lambda s: loop.create_server(asyncio.Protocol, sock=s),
                     unbound(AF_INET, DGRAM))
        await refuse("start_server unix datagram",
                     lambda s: asyncio.start_server(echo_line, sock=s),
                     unbound(AF_UNIX, DGRAM))
        await refuse("create_unix_server tcp",
                     lambda s: loop.create_unix_server(asyncio.Protocol, sock=s),
                     unbound(AF_INET, STREAM))
        await refuse("start_unix_server udp",
                     lambda s: asyncio.start_unix_server(echo_line, sock=s),
                     unbound(AF_INET, DGRAM))
        await refuse("create_unix_server unix datagram",
                     lambda s: loop.create_unix_server(asyncio.Protocol, sock=s),
                     unbound(AF_UNIX, DGRAM))

        bound = socket.socket(AF_INET, STREAM)
        bound.bind(("127.0.0.1", 0))
        addr = bound.getsockname()
        loop.call_soon(out, "call_soon before start_server")
        server = await asyncio.start_server(echo_line, sock=given(bound))
        out(f"server started, serving {server.is_serving()}")
        out(f"server socket is the one bound {server.sockets[0].getsockname() == addr}")
        reader, writer = await asyncio.open_connection(*addr)
        out("client connected")
        writer.write(b"ping\n")
        out(f"client read {await reader.readline()!r}")
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        out("server closed")
        try:
            await asyncio.open_connection(*addr)
            out("connected after close")
        except ConnectionRefusedError:
            out("connection refused after close")

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "sock")
            listening = socket.socket(AF_UNIX, STREAM)
            listening.bind(path)
            listening.listen()
            server = await asyncio.start_unix_server(echo_line, sock=given(listening))
            out(f"unix server socket is path {server.sockets[0].getsockname() == path}")
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(b"unix\n")
            out(f"client read {await reader.readline()!r}")
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()
            out(f"unix server closed, socket file left {os.path.exists(path)}")

    asyncio.run(main())


def sock_connection():
    """create_connection/open_connection(sock=) refuse a socket not SOCK_STREAM, and
    create_unix_connection/open_unix_connection(sock=) one not AF_UNIX SOCK_STREAM; nothing is
    closed. Then one end of a Unix stream socketpair given to create_connection (CPython takes
    AF_UNIX there too), a TCP socket connected before it is given to open_connection, and a
    socketpair end given to open_unix_connection."""
    AF_INET, AF_UNIX = socket.AF_INET, socket.AF_UNIX
    STREAM, DGRAM = socket.SOCK_STREAM, socket.SOCK_DGRAM

    async def main():
        loop = asyncio.get_running_loop()
        await refuse("create_connection udp",
                     lambda s: loop.create_connection(asyncio.Protocol, sock=s),
                     unbound(AF_INET, DGRAM))
        await refuse("open_connection unix datagram",
                     lambda s: asyncio.open_connection(sock=s),
                     unbound(AF_UNIX, DGRAM))
        await refuse("create_unix_connection tcp",
                     lambda s: loop.create_unix_connection(asyncio.Protocol, sock=s),
                     unbound(AF_INET, STREAM))
        await refuse("open_unix_connection udp",
                     lambda s: asyncio.open_unix_connection(sock=s),
                     unbound(AF_INET, DGRAM))

        a, b = socket.socketpair(AF_UNIX, STREAM)
        done = loop.create_future()
        loop.call_soon(out, "call_soon before create_connection")
        transport, _ = await loop.create_connection(lambda: Printer("pair", done), sock=given(a))
        out("create_connection returned")
        out(f"peername {transport.get_extra_info('peername')!r}")
        transport.write(b"hello")
        out(f"other end got {b.recv(100)!r}")
        b.sendall(b"back")
        b.shutdown(socket.SHUT_WR)
        for i in range(3):
            await asyncio.sleep(0)
            out(f"pass {i}")
        transport.close()
        await done
        b.close()

        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        conn, _ = listener.accept()
        reader, writer = await asyncio.open_connection(sock=given(client))
        out(f"open_connection returned, peername is the listener's "
            f"{writer.get_extra_info('peername') == listener.getsockname()}")
        conn.sendall(b"line\n")
        out(f"client read {await reader.readline()!r}")
        writer.write(b"reply")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        out(f"peer got {conn.recv(100)!r} then {conn.recv(100)!r}")
        conn.close()
        listener.close()

        a, b = socket.socketpair(AF_UNIX, STREAM)
        reader, writer = await asyncio.open_unix_connection(sock=given(a))
        out("open_unix_connection returned")
        b.sendall(b"unix\n")
        out(f"client read {await reader.readline()!r}")
        writer.close()
        await writer.wait_closed()
        out(f"other end got {b.recv(100)!r}")
        b.close()

    asyncio.run(main())


SCENARIOS = [sock_datagram, sock_server, sock_connection]

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for scenario in SCENARIOS:
            print(scenario.__name__)
    else:
        {s.__name__: s for s in SCENARIOS}[sys.argv[1]]()
