// End to end: the real watcher binary, the real AI SDK with its telemetry exported over OTLP/HTTP
// to the watcher, two fake providers; the primary starts failing, the watcher detects it from the
// app's own spans, withFallback moves the calls to the fallback, and back after recovery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateText, streamText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { createAnthropic } from '@ai-sdk/anthropic';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { Watcher, withFallback } from '../dist/index.js';
import { startFake } from './fakeprovider.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startWatcher(dir) {
  const bin = join(dir, 'watcher');
  execFileSync('go', ['build', '-o', bin, './cmd/watcher'], { cwd: repo, stdio: 'inherit' });
  const proc = spawn(bin, ['-api.addr', '127.0.0.1:0', '-otlp.grpc.addr', '127.0.0.1:0', '-otlp.http.addr', '127.0.0.1:0'],
    { env: { ...process.env, OUTAGEWATCH_DATA_DIR: join(dir, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const addrs = await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`watcher did not listen:\n${out}`)), 30000);
    const on = (b) => {
      out += b;
      const api = out.match(/msg="api listening"[^\n]*?addr=(\S+)/);
      const otlp = out.match(/msg="otlp http listening"[^\n]*?addr=(\S+)/);
      if (api && otlp) { clearTimeout(t); res({ api: api[1], otlp: otlp[1] }); }
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', (c) => rej(new Error(`watcher exited ${c}:\n${out}`)));
  });
  return { proc, ...addrs };
}

test('e2e: outage of the primary detected from the SDK spans, calls move to the fallback and back', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'owts-'));
  const t0 = Date.now();
  const d = await startWatcher(dir);
  console.log(`# watcher built and listening in ${Date.now() - t0} ms: api ${d.api}, otlp http ${d.otlp}`);
  const oa = await startFake('openai');
  const an = await startFake('anthropic');
  const tp = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'ts-client-e2e' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://${d.otlp}/v1/traces` }), { scheduledDelayMillis: 100 })],
  });
  tp.register();
  const watcher = new Watcher(`http://${d.api}`);
  const openai = createOpenAI({ baseURL: oa.url, apiKey: 'k' });
  const anthropic = createAnthropic({ baseURL: an.url, apiKey: 'k' });
  const model = withFallback(watcher, [openai.chat('gpt-4o-mini'), anthropic('claude-haiku-4-5')], { probeEveryMs: 1000 });
  try {
    await watcher.ready;
    const calls = []; // {at, ok, served}
    let n = 0, stop = false;
    const one = async () => {
      const i = n++;
      const at = Date.now();
      try {
        let served;
        if (i % 2 === 0) {
          const r = await generateText({ model, prompt: 'sky?', maxRetries: 0, experimental_telemetry: { isEnabled: true } });
          served = r.response.modelId;
          assert.equal(r.text, 'The sky is blue.');
        } else {
          const r = streamText({ model, prompt: 'sky?', maxRetries: 0, experimental_telemetry: { isEnabled: true }, onError() {} });
          const text = await r.text;
          served = (await r.response).modelId;
          assert.equal(text, 'The sky is blue.');
        }
        calls.push({ at, end: Date.now(), ok: true, served });
      } catch (e) {
        calls.push({ at, end: Date.now(), ok: false, err: String(e).slice(0, 120) });
      }
    };
    const traffic = (async () => { const inflight = new Set(); while (!stop) { const p = one(); inflight.add(p); p.finally(() => inflight.delete(p)); await sleep(50); } await Promise.all(inflight); })();

    await sleep(12000); // healthy baseline
    assert.ok(calls.length > 100, `calls ${calls.length}`);
    assert.ok(calls.every((c) => c.ok && c.served === 'gpt-4o-mini'), 'all calls on the primary while healthy');
    const fault = Date.now();
    oa.fail(529);
    let switched = 0;
    while (Date.now() - fault < 30000) {
      if (!watcher.usable('openai', 'gpt-4o-mini')) { switched = Date.now(); break; }
      await sleep(20);
    }
    assert.ok(switched, 'the watcher calls openai/gpt-4o-mini unusable');
    await sleep(8000);
    const firstFallback = calls.filter((c) => c.at >= fault && c.ok && c.served === 'claude-haiku-4-5').sort((a, b) => a.end - b.end)[0];
    const failed = calls.filter((c) => c.at >= fault && !c.ok);
    const failedAfter = failed.filter((c) => c.at > switched);
    console.log(`# fault → watcher unusable: ${switched - fault} ms; fault → first call served by the fallback: ${firstFallback.end - fault} ms`);
    console.log(`# failed user calls before the switch: ${failed.length - failedAfter.length}; after it: ${failedAfter.length} (calls since fault: ${calls.filter((c) => c.at >= fault).length})`);
    if (failed[0]) console.log(`# first failure: ${failed[0].err}`);
    assert.equal(failedAfter.length, 0, 'no failed user call after the switch');

    const recover = Date.now();
    oa.fail(0);
    let back = 0;
    while (Date.now() - recover < 40000) {
      const last = calls.filter((c) => c.at > recover && c.ok).slice(-5);
      if (watcher.usable('openai', 'gpt-4o-mini') && last.length === 5 && last.every((c) => c.served === 'gpt-4o-mini')) { back = Date.now(); break; }
      await sleep(50);
    }
    console.log(`# recovery → calls back on the primary: ${back ? back - recover : 'not within 40 s'} ms; failed calls in all: ${calls.filter((c) => !c.ok).length} of ${calls.length}`);
    assert.ok(back, 'calls go back to the primary after recovery');
    stop = true;
    await traffic;
  } finally {
    await watcher.close();
    await tp.shutdown().catch(() => {});
    d.proc.kill('SIGTERM');
    oa.close(); an.close();
    await new Promise((r) => (d.proc.exitCode !== null ? r() : d.proc.on('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});
