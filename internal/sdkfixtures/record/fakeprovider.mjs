// Fake LLM provider: speaks enough of OpenAI's /v1/chat/completions (JSON and
// SSE) and Anthropic's /v1/messages (JSON and SSE) for the official SDKs to
// succeed. The driver asks for a failure per request with the header
// x-fake-status (e.g. "500", "529", "429", or "sse-overloaded" for an
// Anthropic stream that starts with HTTP 200 and then sends an error event).
// The header x-fake-phase labels the request in the log; the log is the truth
// that scenario.json's counts come from.
import http from 'node:http';

export function startFakeProvider() {
  const log = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = {};
      try { body = JSON.parse(Buffer.concat(chunks).toString() || '{}'); } catch { body = {}; }
      const path = req.url.split('?')[0];
      const provider = path.endsWith('/chat/completions') ? 'openai' : path.endsWith('/messages') ? 'anthropic' : 'unknown';
      const want = req.headers['x-fake-status'] || '200';
      const phase = req.headers['x-fake-phase'] || '';
      const stream = !!body.stream;
      n++;
      const id = n;
      const entry = { id, phase, provider, path, stream, status: 200, sse_error: false,
        retry_count: req.headers['x-stainless-retry-count'] ?? null };
      log.push(entry);
      if (provider === 'unknown') { entry.status = 404; res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"error":"not found"}'); return; }
      if (want !== '200' && !want.startsWith('sse-')) {
        const status = Number(want);
        entry.status = status;
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fake_${id}` });
        res.end(JSON.stringify(provider === 'openai' ? openaiError(status) : anthropicError(status)));
        return;
      }
      if (provider === 'openai') return openaiOK(res, body, id, stream);
      if (want.startsWith('sse-')) entry.sse_error = true;
      return anthropicOK(res, body, id, stream, want.startsWith('sse-'));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, log, port: server.address().port })));
}

function openaiError(status) {
  const m = { 429: ['Rate limit reached for requests', 'requests', 'rate_limit_exceeded'],
    500: ['The server had an error while processing your request.', 'server_error', null],
    529: ['The engine is currently overloaded, please try again later.', 'server_error', 'overloaded'] }[status]
    || ['error', 'server_error', null];
  return { error: { message: m[0], type: m[1], param: null, code: m[2] } };
}

function anthropicError(status) {
  const t = { 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' }[status] || 'api_error';
  const msg = { 429: 'Number of request tokens has exceeded your per-minute rate limit', 500: 'Internal server error', 529: 'Overloaded' }[status] || 'error';
  return { type: 'error', error: { type: t, message: msg } };
}

const REPLY = ['The', ' sky', ' is', ' blue', '.'];

function openaiOK(res, body, id, stream) {
  const model = body.model || 'gpt-4o-mini';
  const created = 1764763200;
  const cid = `chatcmpl-fake${id}`;
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_fake_${id}` });
    res.end(JSON.stringify({ id: cid, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: REPLY.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }, system_fingerprint: 'fp_fake' }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': `req_fake_${id}` });
  const chunk = (delta, finish, usage) => `data: ${JSON.stringify({ id: cid, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake',
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  let out = chunk({ role: 'assistant', content: '' }, null);
  for (const w of REPLY) out += chunk({ content: w }, null);
  out += chunk({}, 'stop');
  if (body.stream_options && body.stream_options.include_usage) out += chunk(null, null, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  out += 'data: [DONE]\n\n';
  res.end(out);
}

function anthropicOK(res, body, id, stream, sseError) {
  const model = body.model || 'claude-haiku-4-5';
  const mid = `msg_fake${id}`;
  if (!stream) {
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_fake_${id}` });
    res.end(JSON.stringify({ id: mid, type: 'message', role: 'assistant', model,
      content: [{ type: 'text', text: REPLY.join('') }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 5 } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': `req_fake_${id}` });
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let out = ev('message_start', { message: { id: mid, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } });
  if (sseError) {
    out += ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
    res.end(out);
    return;
  }
  out += ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  for (const w of REPLY) out += ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } });
  out += ev('content_block_stop', { index: 0 });
  out += ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
  out += ev('message_stop', {});
  res.end(out);
}
