package vendorstatus

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// document is one JSON document of a source, with what its last good read left: the validators
// for a conditional request and the parse a 304 keeps.
type document struct {
	url          string
	parse        func([]byte) (any, error)
	etag         string
	lastModified string
	parsed       any // nil until a good read
}

// fetch reads d once: conditionally when it was read before (If-None-Match, If-Modified-Since),
// bounded by Timeout and MaxBodyBytes. A 304 keeps the last parse. The validators and the parse
// change only on a good read, so a failed one leaves d as it was.
func (p *Poller) fetch(ctx context.Context, provider string, d *document) (err error) {
	result := resultError
	defer func() { p.metrics.fetches.WithLabelValues(provider, result).Inc() }()
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", d.url, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "outagewatch-vendorstatus")
	if d.parsed != nil {
		if d.etag != "" {
			req.Header.Set("If-None-Match", d.etag)
		}
		if d.lastModified != "" {
			req.Header.Set("If-Modified-Since", d.lastModified)
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", d.url, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		_ = resp.Body.Close()
	}()
	switch {
	case resp.StatusCode == http.StatusNotModified && d.parsed != nil:
		result = resultNotModified
		return nil
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: status %d", d.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.cfg.MaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", d.url, err)
	}
	if int64(len(body)) > p.cfg.MaxBodyBytes {
		return fmt.Errorf("GET %s: body over %d bytes", d.url, p.cfg.MaxBodyBytes)
	}
	parsed, err := d.parse(body)
	if err != nil {
		return fmt.Errorf("parse %s: %w", d.url, err)
	}
	d.parsed, d.etag, d.lastModified = parsed, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	result = resultOK
	return nil
}
