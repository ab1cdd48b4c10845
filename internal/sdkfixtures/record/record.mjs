// Records every scenario: starts the fake provider and the OTLP capture
// server, runs driver.mjs for the scenario in a child process, and writes
// ../testdata/<scenario>/requests/NNNN.pb and scenario.json.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeProvider } from './fakeprovider.mjs';
import { startCapture } from './capture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json')));
const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json')));
const ver = (p) => lock.packages[`node_modules/${p}`]?.version;
const otel = ['@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/instrumentation-undici', '@opentelemetry/instrumentation-http', '@opentelemetry/api'];

const ERR = [500, 529, 429];
const SCENARIOS = {
  'openai-openllmetry': { instrumentation: 'openllmetry', packages: ['openai', '@traceloop/instrumentation-openai', ...otel],
    phases: [{ name: 'good', provider: 'openai', calls: 30 }, { name: 'errors', provider: 'openai', calls: 30, statuses: ERR }] },
  'anthropic-openllmetry': { instrumentation: 'openllmetry', packages: ['@anthropic-ai/sdk', '@traceloop/instrumentation-anthropic', ...otel],
    phases: [{ name: 'good', provider: 'anthropic', calls: 30 }, { name: 'errors', provider: 'anthropic', calls: 30, statuses: ERR },
      { name: 'stream_errors', provider: 'anthropic', calls: 6, stream: 'all', statuses: ['sse-overloaded'] }] },
  'openai-openinference': { instrumentation: 'openinference', packages: ['openai', '@arizeai/openinference-instrumentation-openai', ...otel],
    phases: [{ name: 'good', provider: 'openai', calls: 30 }, { name: 'errors', provider: 'openai', calls: 30, statuses: ERR }] },
  'gateway-openllmetry': { instrumentation: 'openllmetry', packages: ['openai', '@anthropic-ai/sdk', '@traceloop/instrumentation-openai', '@traceloop/instrumentation-anthropic', ...otel],
    phases: [{ name: 'good', provider: 'openai', calls: 20 }, { name: 'good', provider: 'anthropic', calls: 20 },
      { name: 'errors', provider: 'openai', calls: 20, statuses: ERR }, { name: 'errors', provider: 'anthropic', calls: 20, statuses: ERR }] },
};

const only = process.argv.slice(2);
for (const [name, sc] of Object.entries(SCENARIOS)) {
  if (only.length && !only.includes(name)) continue;
  const dir = path.join(here, '..', 'testdata', name);
  const fake = await startFakeProvider();
  const cap = await startCapture(path.join(dir, 'requests'));
  const host = `127.0.0.1:${fake.port}`;
  const child = fork(path.join(here, 'driver.mjs'), [name], { env: { ...process.env, FAKE_URL: `http://${host}`,
    OTLP_URL: `http://127.0.0.1:${cap.port}/v1/traces`, PLAN: JSON.stringify(sc) } });
  const { results } = await new Promise((resolve, reject) => {
    let msg; child.on('message', (m) => { msg = m; });
    child.on('exit', (code) => code === 0 && msg ? resolve(msg) : reject(new Error(`${name}: driver exit ${code}`)));
  });
  fake.server.close(); cap.server.close();
  const phases = sc.phases.map((p) => {
    const rs = results.filter((r) => r.phase === p.name && r.provider === p.provider);
    const reqs = fake.log.filter((e) => e.phase === p.name && e.provider === p.provider);
    const statuses = {};
    for (const e of reqs) statuses[e.status] = (statuses[e.status] || 0) + 1;
    const ph = { name: p.name, provider: p.provider, calls: rs.length, requests_served: reqs.length, statuses,
      calls_streaming: rs.filter((r) => r.stream).length, calls_failed: rs.filter((r) => !r.ok).length };
    if (p.name !== 'good') ph.attempts_per_call = reqs.length / rs.length;
    if (reqs.some((e) => e.sse_error)) ph.sse_error_events = reqs.filter((e) => e.sse_error).length;
    return ph;
  });
  const errs = [...new Set(results.filter((r) => !r.ok).map((r) => r.error.replace(/\(.*\)/, '')))];
  const scenario = { name, stack: Object.fromEntries(sc.packages.map((p) => [p, ver(p)])), node: process.version, host, phases,
    otlp: { requests: cap.info.count, bytes: cap.info.bytes, content_encoding: [...cap.info.encodings], content_type: [...cap.info.contentTypes] },
    sdk_errors: errs, notes: '' };
  const old = path.join(dir, 'scenario.json');
  if (fs.existsSync(old)) scenario.notes = JSON.parse(fs.readFileSync(old)).notes || '';
  fs.writeFileSync(old, JSON.stringify(scenario, null, 2) + '\n');
  console.log(JSON.stringify(scenario, null, 1));
}
