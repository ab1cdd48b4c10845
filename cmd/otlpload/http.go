package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 1 << 20

// httpSender posts to an OTLP/HTTP traces endpoint over a pool of at most
// connections keep-alive connections.
type httpSender struct {
	client *http.Client
	url    string
	gzip   bool
}

func newHTTPSender(url string, connections int, gzipped bool) *httpSender {
	tr := &http.Transport{
		MaxIdleConns:        connections,
		MaxIdleConnsPerHost: connections,
		MaxConnsPerHost:     connections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // responses are tiny; keep the client lean
	}
	return &httpSender{client: &http.Client{Transport: tr}, url: url, gzip: gzipped}
}

func (s *httpSender) send(ctx context.Context, _ int, r request) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(r.body))
	if err != nil {
		return outcome{result: resultFailed, err: fmt.Errorf("new request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if s.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{result: resultFailed, err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return outcome{result: resultRefused, err: fmt.Errorf("http %d", resp.StatusCode)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return outcome{result: resultFailed, err: fmt.Errorf("http %d: %s", resp.StatusCode, bytes.TrimSpace(body[:min(len(body), 200)]))}
	case err != nil:
		return outcome{result: resultFailed, err: fmt.Errorf("read response: %w", err)}
	}
	rejected, err := rejectedSpans(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return outcome{result: resultFailed, err: err}
	}
	return outcome{result: resultOK, rejected: rejected}
}

// rejectedSpans decodes an OTLP/HTTP success body (protobuf or JSON, by
// content type) and returns its partial-success rejected_spans. An empty
// body means full success.
func rejectedSpans(contentType string, body []byte) (int64, error) {
	if len(body) == 0 {
		return 0, nil
	}
	er := ptraceotlp.NewExportResponse()
	mt, _, _ := mime.ParseMediaType(contentType)
	var err error
	if mt == "application/json" {
		err = er.UnmarshalJSON(body)
	} else {
		err = er.UnmarshalProto(body)
	}
	if err != nil {
		return 0, fmt.Errorf("decode export response: %w", err)
	}
	return er.PartialSuccess().RejectedSpans(), nil
}

func (s *httpSender) close() { s.client.CloseIdleConnections() }
