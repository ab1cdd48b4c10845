// Package spangen generates deterministic, realistic OTLP trace batches as
// pdata for benchmarks, the otlpload tool and tests.
//
// A batch holds LLM-call spans shaped the way real instrumentations send them
// (current GenAI semantic conventions, OpenLLMetry and the Vercel AI SDK, for
// Anthropic, OpenAI, Gemini and Bedrock, with about 2% provider errors) and,
// optionally, ordinary HTTP server, HTTP client and database spans. The same
// configuration and seed always yield the same spans and the same bytes.
//
// spangen owns only synthetic data: it does no I/O, keeps no global state and
// must not import any other outagewatch package, so every layer can use it in
// tests without creating a cycle.
package spangen
