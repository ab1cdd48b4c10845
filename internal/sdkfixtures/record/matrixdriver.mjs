// One fault-matrix cell's application (run by matrix.mjs as a child process,
// one process per cell so each cell has its own tracer provider and its own
// OTLP requests). argv: stack mode fault. env FAKE_URL, OTLP_URL.
// Registers the OTel Node SDK (BatchSpanProcessor + OTLP proto exporter, plus
// an in-memory copy of the same spans for cell.json's notes), the undici and
// http instrumentations and the stack's LLM instrumentation, then loads the
// SDK with require (so require hooks patch it) and makes 4 calls at once,
// each with default retries (maxRetries 2).
import { createRequire } from 'node:module';
import { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';

const require = createRequire(import.meta.url);
const [stack, mode, fault] = process.argv.slice(2);
const FAKE = process.env.FAKE_URL;
const CALLS = 4;
const REPLY = 'The sky is blue.';

// Errors no application code could catch (e.g. an instrumentation's copy of a
// stream failing): a Node process would die of them; the driver records them
// (cell.json uncaught_errors) and goes on so the cell's spans still get out.
const uncaught = [];
process.on('uncaughtException', (e) => { uncaught.push(`uncaughtException ${e?.name}: ${String(e?.message).slice(0, 100)}`); });
process.on('unhandledRejection', (e) => { uncaught.push(`unhandledRejection ${e?.name}: ${String(e?.message).slice(0, 100)}`); });

const mem = new InMemorySpanExporter();
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': `sdkfixtures-matrix-${stack}` }),
  spanProcessors: [
    new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }), { scheduledDelayMillis: 1000, maxExportBatchSize: 256 }),
    new SimpleSpanProcessor(mem),
  ],
});
provider.register();

const instrumentations = [new UndiciInstrumentation(), new HttpInstrumentation()];
if (stack === 'openai-openllmetry') instrumentations.push(new (require('@traceloop/instrumentation-openai').OpenAIInstrumentation)());
if (stack === 'anthropic-openllmetry') instrumentations.push(new (require('@traceloop/instrumentation-anthropic').AnthropicInstrumentation)());
if (stack === 'openai-openinference') instrumentations.push(new (require('@arizeai/openinference-instrumentation-openai').OpenAIInstrumentation)());
if (stack === 'anthropic-openinference') instrumentations.push(new (require('@arizeai/openinference-instrumentation-anthropic').AnthropicInstrumentation)());
registerInstrumentations({ instrumentations });

const stream = mode === 'stream';
const errText = (e) => {
  // The Vercel SDK hands an in-stream error to the application as the
  // provider's parsed error object, not as an Error.
  if (!(e instanceof Error)) return `non-Error ${e?.constructor?.name ?? typeof e}: ${JSON.stringify(e).slice(0, 120)}`;
  const st = e?.status ?? e?.statusCode ?? e?.lastError?.statusCode;
  return `${e?.name && e.name !== 'Error' ? e.name : e?.constructor?.name}: status=${st} ${String(e?.message).slice(0, 100)}`;
};

let call;
if (stack.startsWith('vercel-')) {
  const { generateText, streamText } = require('ai');
  const model = stack === 'vercel-openai'
    ? require('@ai-sdk/openai').createOpenAI({ apiKey: 'sk-fake', baseURL: `${FAKE}/v1` }).chat('gpt-4o-mini')
    : require('@ai-sdk/anthropic').createAnthropic({ apiKey: 'sk-ant-fake', baseURL: `${FAKE}/v1` })('claude-haiku-4-5');
  call = async (headers, prompt, out) => {
    const opts = { model, prompt, maxOutputTokens: 64, headers, experimental_telemetry: { isEnabled: true, functionId: 'matrix' } };
    if (!stream) {
      const r = await generateText(opts);
      out.text = r.text; out.finish_reason = r.finishReason;
      return;
    }
    const r = streamText({ ...opts, onError: () => {} });
    let text = '';
    for await (const p of r.fullStream) {
      if (p.type === 'text-delta') text += p.text ?? p.textDelta ?? '';
      else if (p.type === 'error') { out.stream_error = errText(p.error); }
      else if (p.type === 'finish') out.finish_reason = p.finishReason;
    }
    out.text = text;
  };
} else if (stack.startsWith('openai-')) {
  const OpenAI = require('openai').default;
  const client = new OpenAI({ apiKey: 'sk-fake', baseURL: `${FAKE}/v1` });
  call = async (headers, content, out) => {
    const model = 'gpt-4o-mini';
    if (stream) {
      const s = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 64, stream: true, stream_options: { include_usage: true } }, { headers });
      let text = '';
      for await (const c of s) {
        text += c.choices?.[0]?.delta?.content ?? '';
        if (c.choices?.[0]?.finish_reason) out.finish_reason = c.choices[0].finish_reason;
      }
      out.text = text;
    } else {
      const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: 64 }, { headers });
      out.text = r.choices?.[0]?.message?.content ?? '';
      out.finish_reason = r.choices?.[0]?.finish_reason ?? null;
      if (!r.choices) out.resolved_with = JSON.stringify(r).slice(0, 120);
    }
  };
} else {
  const Anthropic = require('@anthropic-ai/sdk').default;
  const client = new Anthropic({ apiKey: 'sk-ant-fake', baseURL: FAKE });
  call = async (headers, content, out) => {
    const model = 'claude-haiku-4-5';
    if (stream) {
      const s = await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content }], stream: true }, { headers });
      let text = '';
      for await (const e of s) {
        if (e.type === 'content_block_delta') text += e.delta.text;
        if (e.type === 'message_delta') out.finish_reason = e.delta.stop_reason;
      }
      out.text = text;
    } else {
      const r = await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content }] }, { headers });
      out.text = r.content?.[0]?.text ?? '';
      out.finish_reason = r.stop_reason ?? null;
      if (!r.content) out.resolved_with = JSON.stringify(r).slice(0, 120);
    }
  };
}

async function one(i) {
  const headers = { 'x-fake-fault': fault, 'x-fake-call': String(i) };
  const out = { call: i };
  try {
    await call(headers, `Say what colour the sky is (${mode} ${fault} ${i}).`, out);
    if (out.stream_error) { out.outcome = 'error'; out.error = out.stream_error; }
    else out.outcome = out.text === REPLY ? 'ok' : 'incomplete_text';
  } catch (e) {
    out.outcome = 'error'; out.error = errText(e);
  }
  return out;
}

// The 4 calls run at once (their retries interleave in the fake's log).
const results = await Promise.all([1, 2, 3, 4].map(one));
await new Promise((r) => setTimeout(r, 200)); // let instrumentations end their spans
await provider.forceFlush();
const spans = mem.getFinishedSpans().map((s) => ({
  name: s.name, scope: s.instrumentationScope?.name ?? s.instrumentationLibrary?.name, kind: s.kind,
  id: s.spanContext().spanId, parent: s.parentSpanContext?.spanId ?? s.parentSpanId ?? null,
  status: s.status, attrs: s.attributes, events: s.events.map((e) => ({ name: e.name, attrs: e.attributes })),
}));
await provider.shutdown();
process.send({ results, spans, uncaught });
