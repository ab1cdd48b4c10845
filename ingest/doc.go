// Package ingest is outagewatch's front door: an OTLP receiver (gRPC and HTTP, protobuf and
// JSON, gzip) that recognises the LLM calls in any trace traffic, in coding agents' log events
// and in the GenAI semantic conventions' metrics, and hands them on as detectors.Call values.
//
// It is the composition the daemon imports: Config, the Pipeline (the bounded hand-off between
// the receivers and the Consumer, the metrics of calls, and Freshness: when spans and each
// provider's calls last arrived, and the calls per second) and the Server (the listeners).
// Each concern lives in a room of its own, in the order a request meets them:
//
//   - ingest/receiver: the OTLP/gRPC and OTLP/HTTP receivers, request bodies, gzip, and the
//     answers the OTLP specification prescribes (400 and InvalidArgument for malformed input,
//     413 for oversized bodies, 503 and Unavailable when the queue is full, partial success for
//     rejected spans);
//   - ingest/wire: decoding, by the single-pass protobuf fast path or by pdata, into records;
//   - ingest/normalize: the normaliser of docs/normalisation.md, conventions to records (error
//     classes, provider names and hosts);
//   - ingest/assemble: records to calls across spans and requests (attempts folded into their
//     LLM span, wrappers dropped, attempt-only calls, the caps on series);
//   - ingest/agentlogs and ingest/genaimetrics: the mappers of logs (Claude Code, Gemini CLI,
//     Codex events) and of metrics (gen_ai.client.operation.duration) to calls, given to the
//     Pipeline as PipelineOptions.LogCalls and MetricCalls; their calls skip the assembler but
//     not its caps.
//
// receiver imports none of the others; wire and assemble import normalize; ingest imports all
// four. It must never block an exporter forever, never crash on input, and never keep more than
// its bounds, whatever it is sent; it keeps no process-wide state. It knows nothing of
// detection, storage or alerts.
package ingest
