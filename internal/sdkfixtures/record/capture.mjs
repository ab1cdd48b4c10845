// OTLP/HTTP capture server: stores each POST /v1/traces body exactly as
// received (gunzipped if Content-Encoding: gzip) as requests/NNNN.pb.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export function startCapture(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const info = { count: 0, bytes: 0, contentTypes: new Set(), encodings: new Set() };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const enc = req.headers['content-encoding'] || 'identity';
      info.encodings.add(enc);
      info.contentTypes.add(req.headers['content-type'] || '');
      if (enc === 'gzip') body = zlib.gunzipSync(body);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        n++;
        fs.writeFileSync(path.join(dir, String(n).padStart(4, '0') + '.pb'), body);
        info.count = n; info.bytes += body.length;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      } else { res.writeHead(404); res.end(); }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, info, port: server.address().port })));
}
