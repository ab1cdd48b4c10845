// Package assemble turns the normaliser's records into detectors.Call values: it folds the
// provider HTTP attempts of a request into their LLM span, keeps only the innermost LLM span of
// a nest (parents, wrappers), waits a bounded time for LLM spans that may never come (a call
// made from the attempts alone), decides the outcome (docs/normalisation.md, "Outcome") and caps
// the providers and models tracked.
//
// It owns the state that spans requests, every part of it bounded whatever the input. It must
// not read the wire or attributes (ingest/wire and ingest/normalize do) and does no I/O; it is
// not safe for concurrent use: the pipeline runs it on one goroutine.
package assemble
