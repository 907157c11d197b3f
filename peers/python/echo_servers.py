#!/usr/bin/env python3
"""TCP echo servers on CPython, the peers of `schedlab serve asyncio-loop echo` (issue 4), driven by
the shared Go load generator (peers/go/loadgen) as every echo server of the project is.

Usage: echo_servers.py streams [--addr 127.0.0.1:0]          asyncio streams, default loop
       echo_servers.py uvloop-streams [--addr 127.0.0.1:0]   asyncio streams on uvloop
       echo_servers.py uvloop-protocol [--addr 127.0.0.1:0]  asyncio.Protocol on uvloop
       echo_servers.py asyncio-protocol [--addr 127.0.0.1:0] asyncio.Protocol, default loop

Prints `PORT <n>` on stdout once it listens, then serves until killed.

streams is the workload as the Rust server writes it (crates/lab/src/workloads/echo.rs,
`echo_asyncio_loop`): per connection, `await reader.read(65536)`, `writer.write(data)`,
`await writer.drain()` until EOF. uvloop-protocol is issue 4's reference for the target: a
Protocol whose `data_received` calls `transport.write(data)`. uvloop comes from
peers/python/install-uvloop.sh (a venv in .py-peers; run this script with its python).
"""

import argparse
import asyncio
import sys

BUFFER = 64 * 1024


async def echo_streams(reader, writer):
    try:
        while True:
            data = await reader.read(BUFFER)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(kind, host, port):
    loop = asyncio.get_running_loop()
    if kind in ("streams", "uvloop-streams"):
        server = await asyncio.start_server(echo_streams, host, port)
    else:
        server = await loop.create_server(EchoProtocol, host, port)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["streams", "uvloop-streams", "uvloop-protocol", "asyncio-protocol"])
    parser.add_argument("--addr", default="127.0.0.1:0")
    args = parser.parse_args()
    host, _, port = args.addr.rpartition(":")
    if args.kind.startswith("uvloop"):
        import uvloop
        uvloop.install()
    try:
        asyncio.run(serve(args.kind, host, int(port)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
