// Fake LLM provider: speaks enough of OpenAI's /v1/chat/completions (JSON and
// SSE) and Anthropic's /v1/messages (JSON and SSE) for the official SDKs to
// succeed. The driver asks for a failure per request with the header
// x-fake-status (e.g. "500", "529", "429", or "sse-overloaded" for an
// Anthropic stream that starts with HTTP 200 and then sends an error event).
// The header x-fake-phase labels the request in the log; the log is the truth
// that scenario.json's counts come from. The fault matrix uses the header
// x-fake-fault instead (see serveFault).
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
      // Fault matrix (matrix.mjs): x-fake-fault names the cell's fault, which
      // is injected on every attempt; x-fake-call numbers the SDK call so the
      // log can say which attempt of which call each request was.
      const fault = req.headers['x-fake-fault'];
      if (fault) {
        entry.fault = fault;
        entry.call = Number(req.headers['x-fake-call'] || 0);
        entry.attempt_of_call = log.filter((e) => e.fault && e.call === entry.call).length;
        return serveFault(res, req, body, id, provider, stream, fault, entry);
      }
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

// serveFault answers one attempt of a fault-matrix cell. Faults:
//   ok            the normal answer
//   overloaded    HTTP 529, the provider's JSON error body
//   rate_limited  HTTP 429 with retry-after: 0, the provider's JSON error body
//   server_error  HTTP 500, the provider's JSON error body
//   cut_body      HTTP 200 headers, then half the JSON body (json) or the first
//                 SSE chunks (stream), then the socket is destroyed
//   stream_error  HTTP 200, then (stream) a few chunks and an in-stream error:
//                 OpenAI `data: {"error":{...}}`, Anthropic `event: error`
//                 overloaded_error; (json) the error object as the 200 body
//   no_finish     a complete answer without finish_reason / stop_reason:
//                 (stream) ends cleanly with [DONE] / message_stop; (json)
//                 finish_reason / stop_reason null
function serveFault(res, req, body, id, provider, stream, fault, entry) {
  const httpErr = { overloaded: 529, rate_limited: 429, server_error: 500 }[fault];
  const reqId = provider === 'openai' ? { 'x-request-id': `req_fake_${id}` } : { 'request-id': `req_fake_${id}` };
  if (httpErr) {
    entry.status = httpErr;
    const h = { 'content-type': 'application/json', ...reqId };
    if (fault === 'rate_limited') h['retry-after'] = '0';
    res.writeHead(httpErr, h);
    res.end(JSON.stringify(provider === 'openai' ? openaiError(httpErr) : anthropicError(httpErr)));
    return;
  }
  entry.status = 200;
  const cut = (text) => {
    // Write, let it reach the client, then destroy the socket mid-body.
    res.write(text);
    setTimeout(() => req.socket.destroy(), 30);
  };
  if (!stream) {
    let obj;
    if (fault === 'stream_error') {
      obj = provider === 'openai'
        ? { error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: 'overloaded' } }
        : { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    } else if (provider === 'openai') {
      obj = { id: `chatcmpl-fake${id}`, object: 'chat.completion', created: 1764763200, model: body.model || 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: REPLY.join(''), refusal: null }, logprobs: null, finish_reason: fault === 'no_finish' ? null : 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }, system_fingerprint: 'fp_fake' };
    } else {
      obj = { id: `msg_fake${id}`, type: 'message', role: 'assistant', model: body.model || 'claude-haiku-4-5',
        content: [{ type: 'text', text: REPLY.join('') }], stop_reason: fault === 'no_finish' ? null : 'end_turn', stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 5 } };
    }
    const text = JSON.stringify(obj);
    res.writeHead(200, { 'content-type': 'application/json', ...reqId });
    if (fault === 'cut_body') { entry.cut = true; return cut(text.slice(0, Math.floor(text.length / 2))); }
    res.end(text);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', ...reqId });
  const parts = provider === 'openai' ? openaiStreamParts(body, id, fault) : anthropicStreamParts(body, id, fault);
  if (fault === 'cut_body') { entry.cut = true; return cut(parts.slice(0, 3).join('')); }
  if (fault === 'stream_error') entry.sse_error = true;
  res.end(parts.join(''));
}

function openaiStreamParts(body, id, fault) {
  const created = 1764763200;
  const model = body.model || 'gpt-4o-mini';
  const cid = `chatcmpl-fake${id}`;
  const chunk = (delta, finish, usage) => `data: ${JSON.stringify({ id: cid, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake',
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  const out = [chunk({ role: 'assistant', content: '' }, null)];
  if (fault === 'stream_error') {
    out.push(chunk({ content: REPLY[0] }, null), chunk({ content: REPLY[1] }, null));
    out.push(`data: ${JSON.stringify({ error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: 'overloaded' } })}\n\n`);
    return out;
  }
  for (const w of REPLY) out.push(chunk({ content: w }, null));
  if (fault !== 'no_finish') out.push(chunk({}, 'stop'));
  if (body.stream_options && body.stream_options.include_usage) out.push(chunk(null, null, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }));
  out.push('data: [DONE]\n\n');
  return out;
}

function anthropicStreamParts(body, id, fault) {
  const model = body.model || 'claude-haiku-4-5';
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const out = [ev('message_start', { message: { id: `msg_fake${id}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })];
  if (fault === 'stream_error') {
    out.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: REPLY[0] } }));
    out.push(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
    return out;
  }
  for (const w of REPLY) out.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } }));
  out.push(ev('content_block_stop', { index: 0 }));
  out.push(ev('message_delta', { delta: { stop_reason: fault === 'no_finish' ? null : 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }));
  out.push(ev('message_stop', {}));
  return out;
}
