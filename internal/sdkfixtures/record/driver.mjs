// One scenario's application: registers the OpenTelemetry SDK and the
// scenario's instrumentations, then loads the official SDKs (with require, so
// that the instrumentations' require hooks patch them) and makes the calls.
// Run by record.mjs as a child process: argv[2] is the scenario name; env
// FAKE_URL is the fake provider, OTLP_URL the capture server's /v1/traces.
import { createRequire } from 'node:module';
import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';

const require = createRequire(import.meta.url);
const name = process.argv[2];
const FAKE = process.env.FAKE_URL;
const plan = JSON.parse(process.env.PLAN);

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `sdkfixtures-${name}` }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }), { scheduledDelayMillis: 1000, maxExportBatchSize: 256 })],
});
provider.register();

const instrumentations = [new UndiciInstrumentation(), new HttpInstrumentation()];
const llm = plan.instrumentation;
if (llm === 'openllmetry') {
  const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
  const { AnthropicInstrumentation } = require('@traceloop/instrumentation-anthropic');
  instrumentations.push(new OpenAIInstrumentation(), new AnthropicInstrumentation());
} else if (llm === 'openinference') {
  const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
  instrumentations.push(new OpenAIInstrumentation());
}
registerInstrumentations({ instrumentations });

const OpenAI = require('openai').default;
const Anthropic = require('@anthropic-ai/sdk').default;
const openai = new OpenAI({ apiKey: 'sk-fake', baseURL: `${FAKE}/v1` });
const anthropic = new Anthropic({ apiKey: 'sk-ant-fake', baseURL: FAKE });

let callSeq = 0;
async function call(providerName, phase, i, want) {
  const id = ++callSeq;
  const stream = phase.stream === 'all' ? true : phase.stream === 'none' ? false : i % 2 === 1;
  const headers = { 'x-fake-status': want, 'x-fake-phase': phase.name, 'x-fake-call': String(id) };
  const content = `Say what colour the sky is (${phase.name} ${i}).`;
  const out = { id, provider: providerName, phase: phase.name, stream, want };
  try {
    if (providerName === 'openai') {
      const model = 'gpt-4o-mini';
      if (stream) {
        const s = await openai.chat.completions.create({ model, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } }, { headers });
        let text = ''; for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
        out.text = text;
      } else {
        const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content }] }, { headers });
        out.text = r.choices[0].message.content;
      }
    } else {
      const model = 'claude-haiku-4-5';
      if (stream) {
        const s = await anthropic.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content }], stream: true }, { headers });
        let text = ''; for await (const e of s) if (e.type === 'content_block_delta') text += e.delta.text;
        out.text = text;
      } else {
        const r = await anthropic.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content }] }, { headers });
        out.text = r.content[0].text;
      }
    }
    out.ok = true;
  } catch (e) {
    out.ok = false; out.error = `${e.constructor?.name}: status=${e.status} ${String(e.message).slice(0, 80)}`;
  }
  return out;
}

const results = [];
for (const phase of plan.phases) {
  const jobs = [];
  for (let i = 0; i < phase.calls; i++) {
    const want = phase.statuses ? String(phase.statuses[i % phase.statuses.length]) : '200';
    jobs.push(() => call(phase.provider, phase, i, want));
  }
  // Good calls one at a time; error calls 5 at a time (the SDKs back off
  // 0.5-2 s between attempts, so this keeps a recording under a minute).
  const conc = phase.name === 'good' ? 1 : 5;
  for (let k = 0; k < jobs.length; k += conc) {
    results.push(...await Promise.all(jobs.slice(k, k + conc).map((f) => f())));
  }
}
await provider.forceFlush();
await provider.shutdown();
process.send({ results });
