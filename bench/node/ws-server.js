#!/usr/bin/env node
// The benchmark's second Node.js peer: a WebSocket echo on Node's `http`
// server with the `ws` package (pinned in package.json), the most used
// Node.js WebSocket server, with permessage-deflate off (ws's own default)
// or on.
//
//   node ws-server.js [--port PORT] [--host HOST] [--per-message-deflate]
//
// With --per-message-deflate, ws's defaults apply (level 6 per Node's zlib,
// messages under 1024 bytes sent uncompressed, context takeover unless the
// client's offer asks for none), which is how the package is usually run.
// Text comes back as text and binary as binary. Port 0 picks a free port; the
// server prints `listening on http://HOST:PORT` once it accepts connections,
// the line every server of the benchmark prints.
'use strict';

const http = require('http');
const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const options = { host: '127.0.0.1', port: 3002, perMessageDeflate: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--port' && value !== undefined) {
      options.port = Number(value);
      i++;
    } else if (flag === '--host' && value !== undefined) {
      options.host = value;
      i++;
    } else if (flag === '--per-message-deflate') {
      options.perMessageDeflate = true;
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: node ws-server.js [--port PORT] [--host HOST] [--per-message-deflate]');
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

// The same 1 MiB message limit as the Rust backend and the other peer.
const wsServer = new WebSocketServer({
  server,
  path: '/ws',
  maxPayload: 1 << 20,
  perMessageDeflate: options.perMessageDeflate,
});

wsServer.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  // Errors end only their own connection; ws closes it.
  socket.on('error', () => {});
});

server.listen(options.port, options.host, () => {
  const { address, port } = server.address();
  const deflate = options.perMessageDeflate ? ', permessage-deflate on' : '';
  console.log(`listening on http://${address}:${port} (WebSocket echo at ws://${address}:${port}/ws${deflate})`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const client of wsServer.clients) client.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
