// A small round-robin reverse proxy for several `charlm serve` processes (the API keeps no state between
// requests, so any process can answer any request). Streams pass through unbuffered; a client that goes away
// aborts its upstream request, so the model process cancels the work; an upstream that refuses the connection is
// skipped for the next one. For production, nginx or another proxy does the same (docs/serving.md).
//   node docs/examples/proxy.mjs --port 8080 http://127.0.0.1:8081 http://127.0.0.1:8082
import { createServer, request } from 'node:http';

/** Starts the proxy; resolves with its URL and a close(). */
const MAX_BODY = 1 << 20;

export function startProxy(upstreams, { port = 0, host = '127.0.0.1' } = {}) {
  const targets = upstreams.map((u) => new URL(u));
  let next = 0;
  const server = createServer((req, res) => {
    // Requests are small JSON bodies: read each whole (capped), so a refused connection can be retried elsewhere.
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) { res.writeHead(413).end(); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => send(Buffer.concat(chunks), targets.length));
    const send = (body, left) => {
      const t = targets[next++ % targets.length];
      const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: t.host, 'x-forwarded-for': req.socket.remoteAddress, 'x-forwarded-host': req.headers.host } }, (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      });
      up.on('error', (e) => {
        if (res.destroyed) return;
        if (e.code === 'ECONNREFUSED' && left > 1) { send(body, left - 1); return; }
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'BAD_GATEWAY', message: 'no model process answered', field: null } }));
      });
      res.on('close', () => { if (!res.writableFinished) up.destroy(); }); // the client left: cancel upstream
      up.end(body);
    };
  });
  return new Promise((resolve) => server.listen(port, host, () => {
    const { port: p } = server.address();
    resolve({ url: `http://${host}:${p}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) });
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args.splice(at, 2)[1]) : 8080;
  if (!args.length) { console.error('usage: node docs/examples/proxy.mjs [--port 8080] <upstream URL>...'); process.exit(2); }
  const p = await startProxy(args, { port });
  console.log(`proxy on ${p.url} → ${args.join(', ')}`);
}
