package receiver

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Request results, the values of the result label.
const (
	resultOK          = "ok"
	resultPartial     = "partial"
	resultBadRequest  = "bad_request"
	resultTooLarge    = "too_large"
	resultRefused     = "refused"
	resultUnsupported = "unsupported"
)

// Metrics are the receivers' counters, shared by the gRPC and HTTP receivers of a pipeline.
type Metrics struct {
	requests *prometheus.CounterVec
	// unknownPath counts OTLP/HTTP requests to a path other than TracesPath; no path label, so
	// that scanners cannot grow the series.
	unknownPath prometheus.Counter
}

// NewMetrics registers the receivers' metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_requests_total",
			Help: "OTLP export requests, by protocol, encoding and result (ok, partial, bad_request, too_large, refused, unsupported).",
		}, []string{"protocol", "encoding", "result"}),
		unknownPath: promauto.With(reg).NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_http_unknown_path_total",
			Help: "OTLP/HTTP requests to a path other than " + TracesPath + " (a misconfigured exporter, e.g. /v1/trace), answered 404.",
		}),
	}
}
