package receiver

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The OTLP/HTTP paths of the signals.
const (
	// TracesPath is the OTLP/HTTP path for traces.
	TracesPath = "/v1/traces"
	// LogsPath is the OTLP/HTTP path for logs.
	LogsPath = "/v1/logs"
	// MetricsPath is the OTLP/HTTP path for metrics.
	MetricsPath = "/v1/metrics"
)

// The values of the signal label of outagewatch_ingest_requests_total.
const (
	signalTraces  = "traces"
	signalLogs    = "logs"
	signalMetrics = "metrics"
	// signalUnknown is a request refused before its signal is known (no token, on a path that
	// is none of the signals').
	signalUnknown = "unknown"
)

// The gRPC Export methods of the signals' services.
const (
	traceExportMethod   = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	logsExportMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
	metricsExportMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
)

// LogsConsumer takes decoded OTLP logs requests: same contract as Pipeline (called
// concurrently, non-blocking, ErrQueueFull to make the exporter retry, any other error
// permanent: 400, InvalidArgument). The Result's Spans counts the request's log records, and
// Rejected those it rejected (OTLP partial success, rejected_log_records) with RejectMsg.
type LogsConsumer interface {
	ConsumeLogs(protocol string, ld plog.Logs) (Result, error)
}

// MetricsConsumer takes decoded OTLP metrics requests: same contract as LogsConsumer. The
// Result's Spans counts the request's data points, and Rejected those it rejected (OTLP partial
// success, rejected_data_points) with RejectMsg.
type MetricsConsumer interface {
	ConsumeMetrics(protocol string, md pmetric.Metrics) (Result, error)
}

// signal is what the receivers need to know of one OTLP signal: how to hand a request body on,
// and how to answer. The body, the gzip, the limits, the admission and the error answers are
// the receivers' own, shared by every signal.
type signal struct {
	// name is the signal label's value; items names what partial success counts ("spans").
	name, items string
	// consume decodes body, in encoding "proto" or "json", and hands it on. It must not keep
	// body.
	consume func(protocol, encoding string, body []byte) (Result, error)
	// response encodes the Export response of a request with rejected items (0: all
	// accepted), in encoding.
	response func(encoding string, rejected int64, msg string) ([]byte, error)
}

// partialMessage is the error_message of a partial success.
func (s *signal) partialMessage(res Result) string {
	return fmt.Sprintf("%d %s rejected: %s", res.Rejected, s.items, res.RejectMsg)
}

// checkJSON bounds the nesting of an OTLP/JSON body before pdata reads it.
func checkJSON(body []byte) error {
	if jsonTooDeep(body, maxJSONDepth) {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	return nil
}

// marshaler is an Export response of pdata.
type marshaler interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func marshal(encoding string, m marshaler) ([]byte, error) {
	if encoding == "json" {
		return m.MarshalJSON()
	}
	return m.MarshalProto()
}

// tracesSignal hands trace requests to p: protobuf bytes as they are (SubmitProto, the fast
// path), JSON decoded by pdata.
func tracesSignal(p Pipeline) *signal {
	return &signal{
		name: signalTraces, items: "spans",
		consume: func(protocol, encoding string, body []byte) (Result, error) {
			if encoding != "json" {
				return p.SubmitProto(protocol, body)
			}
			if err := checkJSON(body); err != nil {
				return Result{}, err
			}
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalJSON(body); err != nil {
				return Result{}, err
			}
			return p.Submit(protocol, req.Traces())
		},
		response: func(encoding string, rejected int64, msg string) ([]byte, error) {
			resp := ptraceotlp.NewExportResponse()
			if rejected > 0 {
				resp.PartialSuccess().SetRejectedSpans(rejected)
				resp.PartialSuccess().SetErrorMessage(msg)
			}
			return marshal(encoding, resp)
		},
	}
}

// logsSignal hands logs requests, decoded by pdata, to c.
func logsSignal(c LogsConsumer) *signal {
	return &signal{
		name: signalLogs, items: "log records",
		consume: func(protocol, encoding string, body []byte) (Result, error) {
			req := plogotlp.NewExportRequest()
			if err := decode(encoding, body, req.UnmarshalJSON, req.UnmarshalProto); err != nil {
				return Result{}, err
			}
			return c.ConsumeLogs(protocol, req.Logs())
		},
		response: func(encoding string, rejected int64, msg string) ([]byte, error) {
			resp := plogotlp.NewExportResponse()
			if rejected > 0 {
				resp.PartialSuccess().SetRejectedLogRecords(rejected)
				resp.PartialSuccess().SetErrorMessage(msg)
			}
			return marshal(encoding, resp)
		},
	}
}

// metricsSignal hands metrics requests, decoded by pdata, to c.
func metricsSignal(c MetricsConsumer) *signal {
	return &signal{
		name: signalMetrics, items: "data points",
		consume: func(protocol, encoding string, body []byte) (Result, error) {
			req := pmetricotlp.NewExportRequest()
			if err := decode(encoding, body, req.UnmarshalJSON, req.UnmarshalProto); err != nil {
				return Result{}, err
			}
			return c.ConsumeMetrics(protocol, req.Metrics())
		},
		response: func(encoding string, rejected int64, msg string) ([]byte, error) {
			resp := pmetricotlp.NewExportResponse()
			if rejected > 0 {
				resp.PartialSuccess().SetRejectedDataPoints(rejected)
				resp.PartialSuccess().SetErrorMessage(msg)
			}
			return marshal(encoding, resp)
		},
	}
}

// signalOfPath names the signal of an OTLP/HTTP path, signalUnknown for any other.
func signalOfPath(path string) string {
	switch path {
	case TracesPath:
		return signalTraces
	case LogsPath:
		return signalLogs
	case MetricsPath:
		return signalMetrics
	}
	return signalUnknown
}

// signalOfMethod names the signal of a gRPC method, "" for one that is no OTLP Export.
func signalOfMethod(method string) string {
	switch method {
	case traceExportMethod:
		return signalTraces
	case logsExportMethod:
		return signalLogs
	case metricsExportMethod:
		return signalMetrics
	}
	return ""
}

// decode reads body into a pdata request by its encoding: JSON (its nesting checked first, as
// for traces) or protobuf.
func decode(encoding string, body []byte, fromJSON, fromProto func([]byte) error) error {
	if encoding == "json" {
		if err := checkJSON(body); err != nil {
			return err
		}
		return fromJSON(body)
	}
	return fromProto(body)
}
