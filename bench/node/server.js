#!/usr/bin/env node
// The benchmark's Node.js peer: a WebSocket echo server built the way the
// original version of this app was, on Node's `http` server with the
// `websocket` npm package (pinned to 1.0.35 in package.json).
//
//   node server.js [--port PORT] [--host HOST]
//
// Text comes back as text and binary as binary. Port 0 picks a free port; the
// server prints `listening on http://HOST:PORT` once it accepts connections,
// the same line the Rust backend prints, so the benchmark can read either.
'use strict';

const http = require('http');
const WebSocketServer = require('websocket').server;

function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: 3001 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--port' && value !== undefined) {
      options.port = Number(value);
      i++;
    } else if (flag === '--host' && value !== undefined) {
      options.host = value;
      i++;
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: node server.js [--port PORT] [--host HOST]');
      process.exit(0);
    } else {
      console.error(`unknown argument: ${flag}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    console.error('--port must be a number from 0 to 65535');
    process.exit(2);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));

const server = http.createServer((request, response) => {
  response.writeHead(426, { 'Content-Type': 'text/plain' });
  response.end('This is a WebSocket echo: connect to /ws\n');
});

// The package's defaults, except the same 1 MiB message limit the Rust
// backend enforces, so both refuse the same oversize messages.
const wsServer = new WebSocketServer({
  httpServer: server,
  autoAcceptConnections: false,
  maxReceivedFrameSize: 1 << 20,
  maxReceivedMessageSize: 1 << 20,
});

wsServer.on('request', (request) => {
  if (request.resourceURL.pathname !== '/ws') {
    request.reject(404, 'no WebSocket here; use /ws');
    return;
  }
  const connection = request.accept(null, request.origin);
  connection.on('message', (message) => {
    if (message.type === 'utf8') {
      connection.sendUTF(message.utf8Data);
    } else {
      connection.sendBytes(message.binaryData);
    }
  });
  // Errors end only their own connection; the package closes it.
  connection.on('error', () => {});
});

server.listen(options.port, options.host, () => {
  const { address, port } = server.address();
  console.log(`listening on http://${address}:${port} (WebSocket echo at ws://${address}:${port}/ws)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    wsServer.shutDown();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
