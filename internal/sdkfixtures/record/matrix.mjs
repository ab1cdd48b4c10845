// Records the fault matrix: stack x mode x fault, 4 SDK calls per cell, each
// cell in its own driver process with its own fake provider and OTLP capture
// server, into ../testdata/matrix/<stack>/<mode>/<fault>/{requests/NNNN.pb,cell.json}.
//   node matrix.mjs                      # every cell
//   node matrix.mjs vercel-openai stream # only cells whose stack/mode/fault match every argument
// cell.json's notes are written from the exported spans (an in-memory copy of
// what the OTLP exporter sent), so they are re-derived on every recording.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeProvider } from './fakeprovider.mjs';
import { startCapture } from './capture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const lock = JSON.parse(fs.readFileSync(path.join(here, 'package-lock.json')));
const ver = (p) => lock.packages[`node_modules/${p}`]?.version;

export const STACKS = {
  'openai-openllmetry': ['openai', '@traceloop/instrumentation-openai'],
  'openai-openinference': ['openai', '@arizeai/openinference-instrumentation-openai'],
  'anthropic-openllmetry': ['@anthropic-ai/sdk', '@traceloop/instrumentation-anthropic'],
  'anthropic-openinference': ['@anthropic-ai/sdk', '@arizeai/openinference-instrumentation-anthropic'],
  'vercel-openai': ['ai', '@ai-sdk/openai'],
  'vercel-anthropic': ['ai', '@ai-sdk/anthropic'],
};
export const MODES = ['json', 'stream'];
export const FAULTS = ['ok', 'overloaded', 'rate_limited', 'server_error', 'cut_body', 'stream_error', 'no_finish'];
const otel = ['@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/instrumentation-undici', '@opentelemetry/instrumentation-http'];
const REPLY = 'The sky is blue.';

const isHTTP = (s) => s.scope === '@opentelemetry/instrumentation-undici' || s.scope === '@opentelemetry/instrumentation-http';
const STATUS = ['UNSET', 'OK', 'ERROR'];
const CONTENT = /(prompt|completion|message|content|input\.value|output\.value|ai\.response\.text|ai\.prompt|ai\.values|ai\.response\.providerMetadata|tool|invocation_parameters|ai\.request\.headers|ai\.response\.(id|timestamp)|ai\.telemetry|operation\.name|resource\.name|url\.|server\.|network\.|user_agent|http\.request\.method)/;

function short(v) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

// describe writes the notes of a cell from its spans.
function describe(spans, requests, results, okSpans) {
  const byId = new Map(spans.map((s) => [s.id, s]));
  const groups = new Map();
  for (const s of spans) {
    const st = STATUS[s.status?.code ?? 0] + (s.status?.message ? ` "${short(s.status.message)}"` : '');
    const parent = s.parent ? (byId.get(s.parent)?.name ?? 'an unexported span') : 'none (root)';
    const statusCode = isHTTP(s) ? ` http.response.status_code=${s.attrs['http.response.status_code'] ?? 'absent'}` + (s.attrs['error.type'] ? ` error.type=${s.attrs['error.type']}` : '') : '';
    const key = `${isHTTP(s) ? 'HTTP' : 'LLM'} "${s.name}" (${s.scope}) status ${st}${statusCode}, parent ${parent}`;
    const g = groups.get(key) || { n: 0, s };
    g.n++; groups.set(key, g);
  }
  const parts = [];
  for (const [key, { n, s }] of groups) {
    let line = `${n} x ${key}`;
    if (!isHTTP(s)) {
      const attrs = Object.entries(s.attrs).filter(([k]) => !CONTENT.test(k)).map(([k, v]) => `${k}=${short(v)}`);
      if (attrs.length) line += `; attributes (of the first, content attributes left out) ${attrs.join(', ')}`;
    }
    const ex = s.events.filter((e) => e.name === 'exception').map((e) => `${e.attrs['exception.type'] ?? ''}: ${short(e.attrs['exception.message'] ?? '')}`);
    if (ex.length) line += `; exception event ${ex[0]}`;
    parts.push(line);
  }
  const llm = spans.filter((s) => !isHTTP(s));
  const roots = llm.filter((s) => !s.parent || !byId.has(s.parent));
  const http = spans.filter((s) => isHTTP(s) && s.kind === 2);
  const missing = [];
  if (roots.length < results.length) missing.push(`only ${roots.length} top-level LLM spans for ${results.length} SDK calls`);
  if (llm.length === 0) missing.push('no LLM span at all');
  const counts = {};
  for (const s of spans) counts[`${s.scope} ${s.name}`] = (counts[`${s.scope} ${s.name}`] || 0) + 1;
  if (okSpans) {
    for (const [k, n] of Object.entries(okSpans)) {
      if (k.startsWith('@opentelemetry/instrumentation-')) continue;
      const here = counts[k] || 0;
      if (here < n) missing.push(`"${k}" exported ${here} times, ${n} times in the ok cell`);
    }
  }
  const llmParentsMissing = llm.filter((s) => s.parent && !byId.has(s.parent)).length + spans.filter((s) => isHTTP(s) && s.parent && !byId.has(s.parent)).length;
  if (llmParentsMissing) missing.push(`${llmParentsMissing} spans have a parent that was never exported`);
  if (http.length !== requests.length) missing.push(`${http.length} HTTP client spans for ${requests.length} requests the fake provider served`);
  const errSpans = spans.filter((s) => s.status?.code === 2).map((s) => s.name);
  return {
    notes: `Exported ${spans.length} spans. ` + parts.join('. ') + '. ' +
      (errSpans.length ? `Spans with status ERROR: ${[...new Set(errSpans)].join(', ')}. ` : 'No span has status ERROR. ') +
      (missing.length ? `Missing: ${missing.join('; ')}.` : 'Nothing missing: every span of the ok cell is there, one HTTP client span per request, every parent exported.'),
    counts,
    summary: { llm_spans: llm.length, llm_top: roots.length, llm_names: [...new Set(llm.map((s) => s.name))], http_spans: http.length,
      http_statuses: http.map((s) => s.attrs['http.response.status_code'] ?? null), error_spans: [...new Set(errSpans)],
      llm_error_status: [...new Set(llm.filter((s) => s.status?.code === 2).map((s) => `${s.name}: ${short(s.status.message ?? '')}`))],
      llm_attrs_err: [...new Set(llm.flatMap((s) => Object.keys(s.attrs).filter((k) => /error|finish|stop_reason/.test(k)).map((k) => `${s.name} ${k}=${short(s.attrs[k])}`)))],
      http_error_type: [...new Set(http.map((s) => s.attrs['error.type']).filter(Boolean))], http_status: [...new Set(http.map((s) => STATUS[s.status?.code ?? 0]))] },
  };
}

async function recordCell(stack, mode, fault) {
  const dir = path.join(here, '..', 'testdata', 'matrix', stack, mode, fault);
  const fake = await startFakeProvider();
  const cap = await startCapture(path.join(dir, 'requests'));
  const host = `127.0.0.1:${fake.port}`;
  const child = fork(path.join(here, 'matrixdriver.mjs'), [stack, mode, fault], { env: { ...process.env, FAKE_URL: `http://${host}`,
    OTLP_URL: `http://127.0.0.1:${cap.port}/v1/traces` } });
  const { results, spans, uncaught } = await new Promise((resolve, reject) => {
    let msg; child.on('message', (m) => { msg = m; });
    child.on('exit', (code) => code === 0 && msg ? resolve(msg) : reject(new Error(`${stack}/${mode}/${fault}: driver exit ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 100));
  fake.server.close(); cap.server.close();
  const log = fake.log.filter((e) => e.fault);
  const requests = log.map((e) => ({ call: e.call, status: e.status, fault: e.fault, attempt_of_call: e.attempt_of_call }));
  const perCall = results.sort((a, b) => a.call - b.call).map((r) => {
    const mine = log.filter((e) => e.call === r.call);
    const pc = { attempts: mine.length, final_status: mine.length ? mine[mine.length - 1].status : 0, sdk_outcome: r.outcome,
      finish_reason: r.finish_reason ?? null, text_complete: r.text === REPLY };
    if (r.error) pc.error = r.error;
    if (r.resolved_with) pc.resolved_with = r.resolved_with;
    return pc;
  });
  const okFile = path.join(here, '..', 'testdata', 'matrix', stack, mode, 'ok', 'cell.json');
  const okSpans = fault !== 'ok' && fs.existsSync(okFile) ? JSON.parse(fs.readFileSync(okFile)).spans : null;
  const d = describe(spans, requests, results, okSpans);
  const cell = { stack, mode, fault, calls: results.length, host,
    packages: Object.fromEntries([...STACKS[stack], ...otel].map((p) => [p, ver(p)])), node: process.version,
    sdk_errors: [...new Set(results.filter((r) => r.error).map((r) => r.error.replace(/\((json|stream) [a-z_]+ \d\)/, '(...)')))],
    requests, per_call: perCall, otlp_requests: cap.info.count, spans: d.counts, notes: d.notes };
  if (uncaught.length) {
    cell.uncaught_errors = [...new Set(uncaught)];
    cell.notes += ` The process got ${uncaught.length} uncaught errors (${cell.uncaught_errors.join('; ')}): without the driver's process.on handlers the application would have crashed.`;
  }
  fs.writeFileSync(path.join(dir, 'cell.json'), JSON.stringify(cell, null, 1) + '\n');
  return { stack, mode, fault, uncaught: cell.uncaught_errors, ...d.summary, per_call: perCall.map((p) => `${p.sdk_outcome}/${p.attempts}`), sdk_errors: cell.sdk_errors };
}

const only = process.argv.slice(2);
const cells = [];
for (const stack of Object.keys(STACKS)) for (const mode of MODES) for (const fault of FAULTS) {
  if (only.every((a) => [stack, mode, fault].includes(a))) cells.push([stack, mode, fault]);
}
const summary = [];
const PAR = 3;
// The ok cells first: the other cells' notes compare their spans with them.
for (const batch of [cells.filter((c) => c[2] === 'ok'), cells.filter((c) => c[2] !== 'ok')]) {
  let next = 0;
  await Promise.all(Array.from({ length: PAR }, async () => {
    while (next < batch.length) {
      const c = batch[next++];
      const t0 = Date.now();
      let s;
      try { s = await recordCell(...c); } catch (e) { console.log(`FAILED ${c.join('/')}: ${e.message}`); continue; }
      summary.push(s);
      console.log(`${c.join('/')} ${((Date.now() - t0) / 1000).toFixed(1)}s outcomes=${s.per_call.join(',')} llm=${s.llm_spans} http=${s.http_spans}`);
    }
  }));
}
if (process.env.MATRIX_SUMMARY) fs.writeFileSync(process.env.MATRIX_SUMMARY, JSON.stringify(summary, null, 1));
