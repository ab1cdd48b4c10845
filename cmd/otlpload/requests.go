package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"time"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// request is one pre-built export request body (gzipped when -gzip is set).
// Bodies are shared by all workers and must not be modified.
type request struct {
	body  []byte
	spans int64
}

// spanAge is how far before the run the generated spans start, so a batch's
// spans have ended by the time it is sent, as in a live exporter.
const spanAge = time.Minute

// buildRequests generates cfg.Requests distinct batches (seeds Seed,
// Seed+1, …) and marshals each once.
func buildRequests(cfg config, now time.Time) ([]request, error) {
	reqs := make([]request, cfg.Requests)
	for i := range reqs {
		td := spangen.Generate(spangen.Config{
			Spans:       cfg.SpansPerRequest,
			LLMFraction: cfg.LLMFraction,
			Seed:        cfg.Seed + int64(i),
			Start:       now.Add(-spanAge),
		})
		body := spangen.MarshalProto(td)
		if cfg.Gzip {
			var err error
			if body, err = gzipBytes(body); err != nil {
				return nil, fmt.Errorf("gzip request %d: %w", i, err)
			}
		}
		reqs[i] = request{body: body, spans: int64(td.SpanCount())}
	}
	return reqs, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// meanBodySize returns the mean size of the request bodies in bytes.
func meanBodySize(reqs []request) int {
	if len(reqs) == 0 {
		return 0
	}
	total := 0
	for _, r := range reqs {
		total += len(r.body)
	}
	return total / len(reqs)
}
