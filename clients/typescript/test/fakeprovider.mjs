// Fake OpenAI (chat completions) and Anthropic (Messages) servers, JSON and SSE, as
// @ai-sdk/openai (.chat) and @ai-sdk/anthropic call them. fail(status) makes every request
// answer that status with the provider's error body until fail(0).
import http from 'node:http';

const REPLY = ['The', ' sky', ' is', ' blue', '.'];

export function startFake(kind) {
  const state = { failStatus: 0, requests: 0, failures: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      let body = {};
      try { body = JSON.parse(Buffer.concat(chunks).toString() || '{}'); } catch {}
      if (state.failStatus) {
        state.failures++;
        res.writeHead(state.failStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify(kind === 'openai'
          ? { error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: 'overloaded' } }
          : { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
        return;
      }
      setTimeout(() => (kind === 'openai' ? openai(res, body) : anthropic(res, body)), 20);
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({
    server, state, url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}/v1`,
    fail(status) { state.failStatus = status; },
    close() { server.closeAllConnections(); server.close(); },
  })));
}

function openai(res, body) {
  const model = body.model, created = Math.floor(Date.now() / 1000), id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: REPLY.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta, finish, usage) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model,
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  let out = chunk({ role: 'assistant', content: '' }, null);
  for (const w of REPLY) out += chunk({ content: w }, null);
  out += chunk({}, 'stop');
  if (body.stream_options?.include_usage) out += chunk(null, null, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  res.end(out + 'data: [DONE]\n\n');
}

function anthropic(res, body) {
  const model = body.model, id = `msg_${Math.random().toString(36).slice(2)}`;
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: REPLY.join('') }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 12, output_tokens: 5 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let out = ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } });
  out += ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  for (const w of REPLY) out += ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } });
  out += ev('content_block_stop', { index: 0 });
  out += ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
  res.end(out + ev('message_stop', {}));
}
