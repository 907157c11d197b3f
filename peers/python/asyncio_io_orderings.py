"""Orderings of CPython's asyncio I/O that crates/asyncio-loop must reproduce (issue 4, I/O part):
StreamReader's edge cases, the protocol callbacks of a server and a client on one loop, and
datagram endpoints (create_datagram_endpoint, DatagramProtocol).

Usage: python3 asyncio_io_orderings.py SCENARIO   prints one event per line
       python3 asyncio_io_orderings.py --list     prints the scenario names

Same contract as asyncio_orderings.py: each scenario has a twin in
crates/asyncio-loop/tests/ordering_<scenario>.rs that compares its lines with
tests/fixtures/<scenario>.txt, written by regen-fixtures.sh. streams.py's StreamReader is the same
in 3.11.7 and 3.12.1 for everything here. protocol_events runs over loopback: which callback runs
in which pass depends on when the kernel makes each socket ready, which on loopback is at once
(the handshake and each send complete inside the syscall), so the order is the same run after run.
The datagram scenarios rely on the same: a loopback datagram, and the ICMP port-unreachable that
answers one sent to a closed port, are queued inside the sendto call. _SelectorDatagramTransport
and create_datagram_endpoint are the same code in 3.11.7 and 3.12.1 (both without
reuse_address, removed in 3.11).
"""

import asyncio
import sys

out = print


def show_bytes(data):
    return repr(bytes(data))


async def show(label, awaitable):
    try:
        out(f"{label} -> {show_bytes(await awaitable)}")
    except asyncio.IncompleteReadError as e:
        out(f"{label} IncompleteReadError partial={show_bytes(e.partial)} expected={e.expected}")
    except asyncio.LimitOverrunError as e:
        out(f"{label} LimitOverrunError {e.args[0]} consumed={e.consumed}")
    except ValueError as e:
        out(f"{label} ValueError {e}")
    except RuntimeError as e:
        out(f"{label} RuntimeError {e}")
    except ConnectionResetError as e:
        out(f"{label} ConnectionResetError {e}")


def stream_reader_edges():
    """readline, readuntil, readexactly and read at EOF, over the limit, in pieces, concurrently
    (after test_streams.py's test_readline_*, test_readuntil_*, test_readexactly_*)."""
    async def main():
        loop = asyncio.get_running_loop()

        def reader(data, eof=True, limit=2**16):
            r = asyncio.StreamReader(limit=limit, loop=loop)
            r.feed_data(data)
            if eof:
                r.feed_eof()
            return r

        r = reader(b"line1\nline2\nrest")
        for _ in range(4):
            await show("readline", r.readline())
        out(f"at_eof {r.at_eof()}")

        r = reader(b"abcdef")
        await show("readexactly(4)", r.readexactly(4))
        await show("readexactly(4)", r.readexactly(4))
        await show("read(10)", r.read(10))
        await show("readexactly(0)", r.readexactly(0))
        await show("read(0)", r.read(0))

        r = reader(b"a||b||c")
        for _ in range(3):
            await show("readuntil(||)", r.readuntil(b"||"))
        await show("readuntil()", r.readuntil(b""))

        r = reader(b"x" * 10 + b"\ntail\n", limit=5)
        await show("readuntil(nl)", r.readuntil(b"\n"))
        await show("readline", r.readline())
        await show("readline", r.readline())

        r = reader(b"y" * 8, eof=False, limit=5)
        await show("readuntil(nl)", r.readuntil(b"\n"))
        await show("readline", r.readline())
        r.feed_data(b"ok\n")
        await show("readline", r.readline())

        r = asyncio.StreamReader(loop=loop)

        async def feeder():
            r.feed_data(b"ab")
            out("fed ab")
            await asyncio.sleep(0)
            r.feed_data(b"cdefg")
            out("fed cdefg")

        reading = asyncio.create_task(show("readexactly(5)", r.readexactly(5)))
        await asyncio.sleep(0)
        out("reader waiting")
        await feeder()
        await reading
        await show("read(100)", r.read(100))

        first = asyncio.create_task(show("read(1) first", r.read(1)))
        await asyncio.sleep(0)
        await show("read(1) second", r.read(1))
        r.set_exception(ConnectionResetError("boom"))
        await first
        await show("read(1) after set_exception", r.read(1))

    asyncio.run(main())


def protocol_events():
    """A server and a client Protocol on one loop over loopback: the order of connection_made,
    data_received, eof_received and connection_lost on both sides, and when create_connection,
    Server.close and wait_closed return."""
    class Server(asyncio.Protocol):
        def connection_made(self, transport):
            out("server connection_made")
            self.transport = transport

        def data_received(self, data):
            out(f"server data_received {show_bytes(data)}")
            self.transport.write(data.upper())

        def eof_received(self):
            out("server eof_received")
            return False

        def connection_lost(self, exc):
            out(f"server connection_lost {exc}")

    class Client(asyncio.Protocol):
        def __init__(self, done):
            self.done = done

        def connection_made(self, transport):
            out("client connection_made")

        def data_received(self, data):
            out(f"client data_received {show_bytes(data)}")

        def eof_received(self):
            out("client eof_received")
            return False

        def connection_lost(self, exc):
            out(f"client connection_lost {exc}")
            self.done.set_result(None)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Server, "127.0.0.1", 0)
        out("server created")
        port = server.sockets[0].getsockname()[1]
        done = loop.create_future()
        transport, _ = await loop.create_connection(lambda: Client(done), "127.0.0.1", port)
        out("create_connection returned")
        transport.write(b"hello")
        out("client wrote hello")
        for i in range(6):
            await asyncio.sleep(0)
            out(f"pass {i}")
        out("client write_eof")
        transport.write_eof()
        await done
        out("client done")
        server.close()
        out("server close returned")
        await server.wait_closed()
        out("server wait_closed returned")

    asyncio.run(main())


def reader_level_triggered():
    """add_reader is level-triggered: a reader that does not drain its socket runs again in every
    pass, after the handles already ready; remove_reader cancels a run already queued; add_writer
    on a writable socket runs every pass until removed (selector_events._add_reader,
    _process_events)."""
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        count = {"reader": 0, "writer": 0}

        def reader():
            count["reader"] += 1
            out(f"reader {count['reader']}")
            if count["reader"] == 3:
                out(f"recv {a.recv(1)!r}")

        def writer():
            count["writer"] += 1
            out(f"writer {count['writer']}")
            if count["writer"] == 2:
                loop.remove_writer(b.fileno())
                out("writer removed")

        loop.add_reader(a.fileno(), reader)
        out("reader added")
        b.send(b"xy")
        out("sent xy")
        loop.add_writer(b.fileno(), writer)
        for i in range(5):
            await asyncio.sleep(0)
            out(f"main {i}")
        out(f"remove_reader {loop.remove_reader(a.fileno())}")
        out(f"remove_reader {loop.remove_reader(a.fileno())}")
        await asyncio.sleep(0)
        out("main done")
        a.close()
        b.close()

    asyncio.run(main())


def streams_events():
    """start_server / open_connection on one loop: when the client_connected_cb task starts,
    when each side's reads return, drain on an unpaused transport, write_eof, and the closing
    handshake (wait_closed on both sides, Server.close / wait_closed), pass by pass."""
    async def handle(reader, writer):
        out("server handler start")
        line = await reader.readline()
        out(f"server read {show_bytes(line)}")
        writer.write(line.upper())
        await writer.drain()
        out("server drained")
        rest = await reader.read()
        out(f"server read-to-eof {show_bytes(rest)}")
        writer.close()
        await writer.wait_closed()
        out("server wait_closed returned")

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        out("server started")
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        out("client connected")
        writer.write(b"ping\n")
        await writer.drain()
        out("client drained")
        for i in range(4):
            await asyncio.sleep(0)
            out(f"pass {i}")
        line = await reader.readline()
        out(f"client read {show_bytes(line)}")
        writer.write_eof()
        out("client write_eof")
        rest = await reader.read()
        out(f"client read-to-eof {show_bytes(rest)} at_eof={reader.at_eof()}")
        writer.close()
        await writer.wait_closed()
        out("client wait_closed returned")
        server.close()
        await server.wait_closed()
        out("server closed")

    asyncio.run(main())


def unix_streams_events():
    """streams_events over a Unix socket in a temporary directory (start_unix_server /
    open_unix_connection), with a stale socket file at the path first: the stale file is
    replaced, sockname/peername give the path or '', and the file stays after Server.close
    (3.11 and 3.12; 3.13's cleanup_socket removes it). A Unix connect completes inside the
    syscall, so create_unix_connection waits on no writer."""
    import os
    import socket
    import stat
    import tempfile

    directory = tempfile.TemporaryDirectory()
    path = os.path.join(directory.name, "sock")

    async def handle(reader, writer):
        out("server handler start")
        sockname, peername = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
        out(f"server sockname is path {sockname == path} peername {peername!r}")
        line = await reader.readline()
        out(f"server read {show_bytes(line)}")
        writer.write(line.upper())
        await writer.drain()
        out("server drained")
        rest = await reader.read()
        out(f"server read-to-eof {show_bytes(rest)}")
        writer.close()
        await writer.wait_closed()
        out("server wait_closed returned")

    async def main():
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        out(f"stale file is a socket {stat.S_ISSOCK(os.stat(path).st_mode)}")
        server = await asyncio.start_unix_server(handle, path)
        out("server started")
        out(f"server socket is path {server.sockets[0].getsockname() == path}")
        reader, writer = await asyncio.open_unix_connection(path)
        out("client connected")
        sockname, peername = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
        out(f"client sockname {sockname!r} peername is path {peername == path}")
        writer.write(b"ping\n")
        await writer.drain()
        out("client drained")
        for i in range(4):
            await asyncio.sleep(0)
            out(f"pass {i}")
        line = await reader.readline()
        out(f"client read {show_bytes(line)}")
        writer.write_eof()
        out("client write_eof")
        rest = await reader.read()
        out(f"client read-to-eof {show_bytes(rest)} at_eof={reader.at_eof()}")
        writer.close()
        await writer.wait_closed()
        out("client wait_closed returned")
        server.close()
        await server.wait_closed()
        out("server closed")
        out(f"socket file left {os.path.exists(path)}")

    try:
        asyncio.run(main())
    finally:
        directory.cleanup()


def sock_calls_order():
    """loop.sock_recv, sock_sendall, sock_accept and sock_connect beside a task that prints
    each pass: ready data comes back without a pass; a waiting sock_recv gets the data in the
    pass after it is sent (its reader runs there) and resumes in the next; a cancelled
    sock_recv's reader is gone and the data is left to the next call; sock_accept waits for
    sock_connect over loopback TCP, whose handshake completes inside the syscall."""
    import socket

    async def ticker():
        for i in range(10):
            out(f"tick {i}")
            await asyncio.sleep(0)

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        ticking = asyncio.create_task(ticker())
        await loop.sock_sendall(b, b"ready")
        out(f"recv at once {show_bytes(await loop.sock_recv(a, 100))}")
        reading = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        out("main sends")
        await loop.sock_sendall(b, b"later")
        out("main sent")
        out(f"recv waited {show_bytes(await reading)}")
        reading = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        reading.cancel()
        try:
            await reading
        except asyncio.CancelledError:
            out("recv cancelled")
        out(f"remove_reader {loop.remove_reader(a.fileno())}")
        await loop.sock_sendall(b, b"after")
        out(f"recv after cancel {show_bytes(await loop.sock_recv(a, 100))}")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        accepting = asyncio.create_task(loop.sock_accept(listener))
        await asyncio.sleep(0)
        out("main connects")
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname())
        out("connected")
        conn, peer = await accepting
        out(f"accepted peer is client {peer == client.getsockname()}")
        await ticking
        for sock in (a, b, listener, client, conn):
            sock.close()

    asyncio.run(main())


class DatagramPrinter(asyncio.DatagramProtocol):
    """A DatagramProtocol that prints every callback with its name; `done` gets a result in
    connection_lost."""

    def __init__(self, name, done=None, peer=None):
        self.name, self.done, self.peer = name, done, peer
        self.transport = None

    def connection_made(self, transport):
        out(f"{self.name} connection_made")
        self.transport = transport

    def datagram_received(self, data, addr):
        out(f"{self.name} datagram_received {show_bytes(data)} from peer {addr == self.peer}")

    def error_received(self, exc):
        out(f"{self.name} error_received {type(exc).__name__} {exc}")

    def connection_lost(self, exc):
        out(f"{self.name} connection_lost {exc}")
        if self.done is not None:
            self.done.set_result(None)

    def pause_writing(self):
        out(f"{self.name} pause_writing size={self.transport.get_write_buffer_size()}")

    def resume_writing(self):
        out(f"{self.name} resume_writing size={self.transport.get_write_buffer_size()}")


def datagram_echo():
    """create_datagram_endpoint over loopback UDP: an unconnected server (local_addr) echoing
    upper-cased with sendto(data, addr), a connected client (remote_addr): when each
    connection_made runs (call_soon: after a callback queued before) and create_datagram_endpoint
    returns, one datagram_received per pass
    (one recvfrom per readiness event, selector_events._SelectorDatagramTransport._read_ready)
    beside a call_soon marker, sockname/peername, and close on both sides."""
    class Echo(DatagramPrinter):
        def datagram_received(self, data, addr):
            super().datagram_received(data, addr)
            self.transport.sendto(data.upper(), addr)

    async def main():
        loop = asyncio.get_running_loop()
        server_done, client_done = loop.create_future(), loop.create_future()
        echo = Echo("server", server_done)
        server, _ = await loop.create_datagram_endpoint(lambda: echo,
                                                        local_addr=("127.0.0.1", 0))
        out("server created")
        server_addr = server.get_extra_info("sockname")
        out(f"server peername {server.get_extra_info('peername')}")
        loop.call_soon(out, "call_soon before the client endpoint")
        client, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("client", client_done, server_addr), remote_addr=server_addr)
        out("client created")
        out(f"client peername is server {client.get_extra_info('peername') == server_addr}")
        echo.peer = client.get_extra_info("sockname")
        loop.call_soon(out, "call_soon marker")
        client.sendto(b"hello")
        out("client sent hello")
        for i in range(3):
            await asyncio.sleep(0)
            out(f"pass {i}")
        client.sendto(b"a")
        client.sendto(b"b", server_addr)
        out("client sent a and b")
        for i in range(5):
            await asyncio.sleep(0)
            out(f"pass {i}")
        client.close()
        out(f"client close is_closing {client.is_closing()}")
        server.close()
        out("server close")
        await client_done
        out("client done")
        await server_done
        out("server done")

    asyncio.run(main())


def datagram_error_received():
    """A connected UDP endpoint whose peer port is closed: on Linux the ICMP port-unreachable
    makes the next recvfrom fail with ECONNREFUSED, which _read_ready hands to error_received
    one pass after the send; the transport stays open and works on. sendto with another address
    is a ValueError; empty data sends nothing (3.11 and 3.12; 3.13 sends a zero-length datagram,
    whose ICMP error would show here); after close a connected transport drops what it is
    given."""
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()
        probe.close()
        done = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("client", done), remote_addr=closed)
        out("created")
        transport.sendto(b"ping")
        out("sent ping")
        for i in range(3):
            await asyncio.sleep(0)
            out(f"pass {i}")
        out(f"is_closing {transport.is_closing()}")
        transport.sendto(b"again")
        out("sent again")
        for i in range(2):
            await asyncio.sleep(0)
            out(f"pass {i}")
        try:
            transport.sendto(b"x", ("127.0.0.1", 9))
        except ValueError as e:
            out(f"sendto other address ValueError {str(e).replace(str(closed[1]), 'PORT')}")
        transport.sendto(b"")
        out("sent empty")
        for i in range(2):
            await asyncio.sleep(0)
            out(f"pass {i} after empty")
        transport.close()
        out("closed")
        transport.sendto(b"late")
        out("sent late")
        await done
        transport.sendto(b"later")
        out(f"sent later, buffer {transport.get_write_buffer_size()}")

    asyncio.run(main())


def datagram_close_buffered():
    """The write buffer of a datagram transport, over a Unix datagram socket (family=AF_UNIX,
    remote_addr=path) whose peer does not read, so that send blocks once the peer's queue is full
    (loopback UDP never blocks on Linux): pause_writing over the high-water mark; close with
    datagrams buffered waits for them to be sent, then resume_writing and connection_lost in the
    same callback; abort drops them at once (get_write_buffer_size still counts them, as
    _force_close leaves _buffer_size)."""
    import os
    import socket
    import tempfile

    directory = tempfile.TemporaryDirectory()
    path = os.path.join(directory.name, "peer")

    def drain(peer):
        count = 0
        while True:
            try:
                peer.recv(4096)
            except BlockingIOError:
                return count
            count += 1

    def fill(transport):
        sent = 0
        while transport.get_write_buffer_size() == 0:
            transport.sendto(b"x" * 1000)
            sent += 1
        for _ in range(4):
            transport.sendto(b"y" * 1000)
        return sent

    async def main():
        loop = asyncio.get_running_loop()
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        peer.bind(path)
        peer.setblocking(False)
        done = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("sender", done), remote_addr=path, family=socket.AF_UNIX)
        out(f"peername is path {transport.get_extra_info('peername') == path}")
        out(f"sockname {transport.get_extra_info('sockname')!r}")
        transport.set_write_buffer_limits(high=3000)
        sent = fill(transport)
        out(f"buffered size={transport.get_write_buffer_size()}")
        transport.close()
        out(f"close is_closing {transport.is_closing()}")
        for i in range(2):
            await asyncio.sleep(0)
            out(f"pass {i}")
        out(f"peer drained what was sent {drain(peer) == sent - 1}")
        for i in range(3):
            await asyncio.sleep(0)
            out(f"pass {i}")
        out(f"peer drained {drain(peer)}")
        await done

        done = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: DatagramPrinter("aborted", done), remote_addr=path, family=socket.AF_UNIX)
        transport.set_write_buffer_limits(high=3000)
        sent = fill(transport)
        transport.abort()
        out(f"abort is_closing {transport.is_closing()} size={transport.get_write_buffer_size()}")
        await done
        out(f"peer drained what was sent {drain(peer) == sent - 1}")
        for i in range(2):
            await asyncio.sleep(0)
            out(f"pass {i}")
        out(f"peer drained {drain(peer)}")
        peer.close()

    try:
        asyncio.run(main())
    finally:
        directory.cleanup()


SCENARIOS = [stream_reader_edges, protocol_events, reader_level_triggered, streams_events,
             unix_streams_events, sock_calls_order, datagram_echo, datagram_error_received,
             datagram_close_buffered]

if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for scenario in SCENARIOS:
            print(scenario.__name__)
    else:
        {s.__name__: s for s in SCENARIOS}[sys.argv[1]]()
