package receiver

import (
	"errors"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Pipeline takes the requests the receivers decode: ingest's Pipeline.
//
// Both methods are called concurrently, from the receivers' goroutines, and must not block: when
// the pipeline cannot take a request it returns ErrQueueFull (the exporter is told to retry),
// and any other error means the request does not decode (permanent: 400, InvalidArgument). The
// pipeline must not keep td or body after it returns.
type Pipeline interface {
	// Submit takes a request decoded by pdata (OTLP/JSON).
	Submit(protocol string, td ptrace.Traces) (Result, error)
	// SubmitProto takes the protobuf bytes of an ExportTraceServiceRequest.
	SubmitProto(protocol string, body []byte) (Result, error)
}

// Result is what a receiver tells the exporter about one request: its items (spans, log records
// or data points, by signal), and those rejected (OTLP partial success: rejected_spans,
// rejected_log_records or rejected_data_points) with the reason for the first.
type Result struct {
	// Spans counts the request's items: spans for traces, log records for logs, data points for
	// metrics.
	Spans     int
	Rejected  int
	RejectMsg string
}

// ErrQueueFull is what a Pipeline returns when it cannot take a request now: the exporter must
// retry later (HTTP 503 with Retry-After, gRPC Unavailable with RetryInfo).
var ErrQueueFull = errors.New("ingest queue is full")
