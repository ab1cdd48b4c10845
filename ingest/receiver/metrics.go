package receiver

import (
	"sync/atomic"

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
	// resultUnauthenticated is a request without a valid bearer token (ingest.auth), refused
	// before its body is read.
	resultUnauthenticated = "unauthenticated"
)

// Metrics are the receivers' counters, shared by the gRPC and HTTP receivers of a pipeline.
type Metrics struct {
	requests *prometheus.CounterVec
	// unknownPath counts OTLP/HTTP requests to a path other than the signals'; no path label, so
	// that scanners cannot grow the series.
	unknownPath prometheus.Counter
	// admission is the byte budget the receivers share (WatchAdmission), read at scrape time.
	admission atomic.Pointer[Admission]
}

// count counts one request of signal by protocol, encoding and result.
func (m *Metrics) count(signal, protocol, encoding, result string) {
	m.requests.WithLabelValues(signal, protocol, encoding, result).Inc()
}

// WatchAdmission makes the admission metrics read a: the budget's bytes in flight, waiters, and
// what it did (outagewatch_ingest_admission_*).
func (m *Metrics) WatchAdmission(a *Admission) { m.admission.Store(a) }

// NewMetrics registers the receivers' metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{
			Name: "outagewatch_ingest_requests_total",
			Help: "OTLP export requests, by signal (traces, logs, metrics; unknown for a request refused before its path was known), protocol, encoding and result (ok, partial, bad_request, too_large, refused, unsupported, unauthenticated).",
		}, []string{"signal", "protocol", "encoding", "result"}),
		unknownPath: promauto.With(reg).NewCounter(prometheus.CounterOpts{
			Name: "outagewatch_ingest_http_unknown_path_total",
			Help: "OTLP/HTTP requests to a path other than " + TracesPath + ", " + LogsPath + " and " + MetricsPath + " (a misconfigured exporter, e.g. /v1/trace), answered 404.",
		}),
	}
	stat := func(f func(a *Admission, st admissionStats) float64) func() float64 {
		return func() float64 {
			a := m.admission.Load()
			if a == nil {
				return 0
			}
			return f(a, a.snapshot())
		}
	}
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_admission_budget_bytes",
		Help: "The OTLP receivers' budget of request bytes in flight (ingest.admission.max_bytes_in_flight; 0: none).",
	}, stat(func(a *Admission, _ admissionStats) float64 { return float64(max(a.opts.MaxBytesInFlight, 0)) }))
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_admission_bytes_in_flight",
		Help: "Request bytes (compressed and decompressed) charged to the budget now.",
	}, stat(func(a *Admission, _ admissionStats) float64 { return float64(a.InFlight()) }))
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_ingest_admission_waiters",
		Help: "Requests waiting for budget now.",
	}, stat(func(a *Admission, _ admissionStats) float64 { return float64(a.Waiters()) }))
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_ingest_admission_waited_total",
		Help: "Requests that waited for budget before they were admitted or refused.",
	}, stat(func(_ *Admission, st admissionStats) float64 { return float64(st.waited) }))
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_ingest_admission_refused_total",
		Help: "Requests refused for the budget (the line full, or the wait over): answered 429 + Retry-After or RESOURCE_EXHAUSTED + RetryInfo.",
	}, stat(func(_ *Admission, st admissionStats) float64 { return float64(st.refused) }))
	f.NewCounterFunc(prometheus.CounterOpts{
		Name: "outagewatch_ingest_admission_shed_total",
		Help: "Requests refused at once because the process sheds load for memory (memory.shed_above).",
	}, stat(func(_ *Admission, st admissionStats) float64 { return float64(st.shed) }))
	return m
}
