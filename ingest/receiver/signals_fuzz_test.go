package receiver

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// FuzzLogsHTTPHandler is FuzzHTTPHandler for the logs handler: any body is answered 200 or
// 400/413 with a Status, and nothing stays charged.
func FuzzLogsHTTPHandler(f *testing.F) {
	seedSignal(f, func(json bool) ([]byte, error) {
		return marshal(encodingOf(json), plogotlp.NewExportRequestFromLogs(logsOf(3)))
	})
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 1 << 20, MaxWaiters: 4, MaxWait: longWait})
	h := NewLogsHTTPHandler(&signalSink{}, NewMetrics(prometheus.NewRegistry()), 64<<10, adm)
	f.Fuzz(fuzzHandler(h, adm, LogsPath))
}

// FuzzMetricsHTTPHandler is FuzzHTTPHandler for the metrics handler.
func FuzzMetricsHTTPHandler(f *testing.F) {
	seedSignal(f, func(json bool) ([]byte, error) {
		return marshal(encodingOf(json), pmetricotlp.NewExportRequestFromMetrics(metricsOf(3)))
	})
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 1 << 20, MaxWaiters: 4, MaxWait: longWait})
	h := NewMetricsHTTPHandler(&signalSink{}, NewMetrics(prometheus.NewRegistry()), 64<<10, adm)
	f.Fuzz(fuzzHandler(h, adm, MetricsPath))
}

func encodingOf(json bool) string {
	if json {
		return "json"
	}
	return "proto"
}

// seedSignal seeds a signal's fuzz target with valid requests (both encodings, plain and gzip)
// and a few broken ones.
func seedSignal(f *testing.F, valid func(json bool) ([]byte, error)) {
	for _, json := range []bool{false, true} {
		b, err := valid(json)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, json, false)
		f.Add(gzipBytes(f, b), json, true)
	}
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{}}}]}]}]}`), true, false)
	f.Add([]byte(`[[[[{"a":"\"[["}]]]]`), true, false)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, false, false)
	f.Add(gzipBytes(f, make([]byte, 4096)), false, true)
}
