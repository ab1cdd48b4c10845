// Package normalize is the span normaliser described in docs/normalisation.md: it recognises
// LLM-call spans and provider HTTP attempt spans among any trace traffic, whatever convention
// shaped them (current and legacy GenAI semantic conventions, OpenLLMetry, OpenLIT, OpenInference,
// the Vercel AI SDK, LiteLLM, Spring AI, the Anthropic SDK, raw HTTP clients), and reads each
// into a Record: provider and model names, operation, streaming, finish reason, tokens, time to
// first token, HTTP status and error class.
//
// It owns the conventions: which attribute keys matter (Attrs), provider names and endpoint
// hosts, error classes and finish reasons. It must not decode the wire (ingest/wire fills Span
// and Attrs, from pdata or from protobuf bytes) nor keep state between spans: assembling
// attempts and parents across spans and requests is ingest/assemble's.
package normalize
