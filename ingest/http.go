package ingest

import (
	"net/http"

	"github.com/outagewatch/outagewatch/ingest/receiver"
)

// TracesPath is the OTLP/HTTP path for traces.
const TracesPath = receiver.TracesPath

// NewHTTPHandler returns the OTLP/HTTP handler of the pipeline, for mounting at TracesPath,
// without an admission budget: NewServer's handler shares one with the gRPC receiver.
func NewHTTPHandler(p *Pipeline, maxRequestBytes int64) http.Handler {
	return receiver.NewHTTPHandler(p, p.recv, maxRequestBytes, nil)
}
