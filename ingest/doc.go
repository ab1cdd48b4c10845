// Package ingest is outagewatch's front door: an OTLP receiver (gRPC and HTTP, protobuf and
// JSON, gzip) that recognises the LLM calls in any trace traffic and hands them on as
// detectors.Call values.
//
// It owns decoding, the answers the OTLP specification prescribes (400 and InvalidArgument for
// malformed input, 413 for oversized bodies, 503 and Unavailable when its bounded queue is full,
// partial success for rejected spans), and the normaliser described in docs/normalisation.md. It
// must never block an exporter forever, never crash on input, and never keep more than its
// bounds, whatever it is sent. It knows nothing of detection, storage or alerts.
package ingest
