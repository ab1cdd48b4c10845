// Package wire decodes OTLP trace requests into the normaliser's records: the protobuf fast
// path, which reads an ExportTraceServiceRequest straight from its wire bytes in a single pass
// without building pdata, and the pdata path, which reads decoded ptrace.Traces.
//
// pdata stays the reference: the fast path accepts exactly the inputs pdata's decoder accepts
// (it mirrors go.opentelemetry.io/collector/pdata/internal/proto, whose varint, tag and
// unknown-field rules differ in small ways from protowire's) and makes the same records
// (FuzzFastPathMatchesPdata checks both). Strings are read as views of the request bytes while
// a request is read; every string a record keeps is interned or copied before the record
// leaves (ownRecord), so the caller may reuse the bytes afterwards.
//
// It owns the wire format, span validation (IDs, timestamps, partial-success counts) and the
// caches of its Decoder (interned strings, bounded; scratch states; record slices). It must not
// decide what a span means: which spans are LLM calls or attempts and what their calls say is
// ingest/normalize's, which it calls once per span. It keeps no process-wide state.
package wire
