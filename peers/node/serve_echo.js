// A TCP echo server on the real Node for the shared load generator (peers/go/loadgen), the
// peer of crates/uv-loop/examples/echo.rs. Prints "PORT <n>" once it listens.
// Usage: node serve_echo.js [--addr 127.0.0.1:0]
'use strict';
const net = require('net');
const arg = process.argv.indexOf('--addr');
const [host, port] = (arg > 0 ? process.argv[arg + 1] : '127.0.0.1:0').split(':');
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
server.listen(Number(port), host, () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
