import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SSEParser, Cache, Watcher } from '../dist/index.js';

test('SSE parser: fields, split chunks, CRLF, comments, multi-line data, ids carry over', () => {
  const evs = [], comments = [];
  const p = new SSEParser((e) => evs.push(e), (c) => comments.push(c));
  const text = 'event: snapshot\r\ndata: {"a":\r\ndata: 1}\r\nid: 7\r\n\r\n: heartbeat\n\nevent: change\ndata: x\n\ndata:y\rretry: 50\r\r';
  for (let i = 0; i < text.length; i += 3) p.feed(text.slice(i, i + 3));
  assert.deepEqual(evs, [
    { event: 'snapshot', data: '{"a":\n1}', id: '7', hasId: true },
    { event: 'change', data: 'x', id: '7', hasId: false },
    { event: 'message', data: 'y', id: '7', hasId: false },
  ]);
  assert.deepEqual(comments, ['heartbeat']);
  assert.equal(p.retry, 50);
  p.feed('data: unterminated');
  p.end();
  assert.equal(evs.length, 3);
});

test('cache: effective states, provider changes move models without evidence, policy', () => {
  const c = new Cache({ failDegraded: false, failUnknown: false });
  c.replace({ version: 3, providers: [{ provider: 'anthropic', state: 'down', models: [
    { model: 'a', state: 'healthy', reasons: [] },
    { model: 'b', state: 'down', reasons: [{ detector: 'provider' }, { detector: 'silence' }] },
  ] }] });
  assert.equal(c.lookup('anthropic', 'a').usable, true);
  assert.equal(c.lookup('anthropic', 'b').usable, false);
  assert.equal(c.lookup('anthropic', 'never').state, 'down');
  assert.equal(c.lookup('openai', 'x').usable, true); // never seen: unknown, fail open
  c.apply({ version: 4, provider: 'anthropic', model: '', from: 'down', to: 'healthy' });
  assert.equal(c.lookup('anthropic', 'b').state, 'unknown');
  assert.equal(c.lookup('anthropic', 'b').usable, true);
  c.apply({ version: 5, provider: 'anthropic', model: 'a', from: 'healthy', to: 'down' });
  assert.equal(c.lookup('anthropic', 'a').usable, false);
  assert.equal(c.version, 5);
  c.apply({ version: 6, provider: 'anthropic', model: 'a', to: 'down', usable: true, caller: 'service:x' });
  assert.equal(c.lookup('anthropic', 'a').usable, true);
  const strict = new Cache({ failDegraded: true, failUnknown: true });
  assert.equal(strict.lookup('openai', 'x').usable, false);
});

// A scripted daemon: serves the stream, records Last-Event-ID, can go away.
function fakeDaemon(script) {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, lastEventId: req.headers['last-event-id'] ?? null });
    script(req, res, seen.length);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, seen, url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}` })));
}
const snap = (v, state) => `event: snapshot\nid: ${v}\ndata: ${JSON.stringify({ version: v, providers: [{ provider: 'openai', state: 'healthy', models: [{ model: 'm', state }] }] })}\n\n`;
const until = async (f, ms = 5000) => { const t = Date.now(); while (!f()) { if (Date.now() - t > ms) throw new Error('timeout'); await new Promise((r) => setTimeout(r, 10)); } };

test('watcher: stream, change, shutdown → reconnect with Last-Event-ID; lost daemon keeps the answer, staleness grows', async () => {
  let n = 0;
  const d = await fakeDaemon((req, res, i) => {
    n = i;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (i === 1) {
      res.write(snap(1, 'healthy'));
      setTimeout(() => res.end(`event: change\nid: 2\ndata: ${JSON.stringify({ version: 2, provider: 'openai', model: 'm', from: 'healthy', to: 'down', usable: false })}\n\nevent: shutdown\ndata: {"version":2}\n\n`), 50);
    } else { res.write(': heartbeat\n\n'); setTimeout(() => req.socket.destroy(), 100); }
  });
  const w = new Watcher(d.url, { minBackoffMs: 20, maxBackoffMs: 50 });
  assert.equal(w.usable('openai', 'm'), true); // before the first answer: unknown, fail open
  await w.ready;
  await until(() => !w.usable('openai', 'm'));
  assert.equal(w.version(), 2);
  await until(() => n >= 2);
  assert.equal(d.seen[1].lastEventId, '2');
  await until(() => w.staleness() > 150);
  assert.equal(w.usable('openai', 'm'), false); // the last answer is kept
  await w.close();
  d.server.closeAllConnections(); d.server.close();
});

test('watcher: falls back to long-poll when the daemon has no stream', async () => {
  const d = await fakeDaemon((req, res) => {
    if (req.url.startsWith('/v1/health/stream')) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    const after = new URL(req.url, 'http://x').searchParams.get('after');
    setTimeout(() => res.end(JSON.stringify({ version: after ? 9 : 8, providers: [{ provider: 'openai', state: 'healthy', models: [{ model: 'm', state: after ? 'down' : 'healthy' }] }] })), after ? 50 : 0);
  });
  const w = new Watcher(d.url, { minBackoffMs: 20, maxBackoffMs: 50, waitMs: 1000 });
  await until(() => w.version() === 9);
  assert.equal(w.transport(), 'poll');
  assert.equal(w.usable('openai', 'm'), false);
  assert.equal(w.staleness(), 0);
  assert.ok(d.seen.some((s) => s.url.includes('wait=1s&after=8')));
  await w.close();
  d.server.closeAllConnections(); d.server.close();
});
