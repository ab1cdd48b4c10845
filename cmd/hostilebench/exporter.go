package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// The legitimate exporters' retry policy: the OTel Go SDK's backoff (multiplier 1.5, ±50%
// jitter, a server's Retry-After or RetryInfo as the least delay), with the first interval and
// the cap shortened from the SDK's 5 s and 30 s so that a batch refused until the attack ends
// is retried within a few seconds of it rather than after up to 30 s of sleep; the time a batch
// is retried for is -retry-for.
const (
	initialBackoff = time.Second
	maxBackoff     = 5 * time.Second
	exportTimeout  = 10 * time.Second // per attempt, the SDK's default
	// maxQueued bounds the batches an exporter holds (sending or waiting to retry), as the
	// Collector exporter's sending queue does (1,000 by default); a batch beyond it is dropped.
	maxQueued = 1000
)

// attempt is the outcome of one export request as an exporter sees it.
type attempt struct {
	code     string // "200", "429", "ResourceExhausted", "transport error"
	ok       bool
	rejected int64         // partial success
	retry    bool          // retryable refusal
	after    time.Duration // the server's Retry-After or RetryInfo delay; 0 when none
	err      error
}

// sendFunc makes one export attempt of body.
type sendFunc func(ctx context.Context, body []byte) attempt

// exporter sends batches of legitimate GenAI spans with retries and counts what happened to them.
type exporter struct {
	protocol string
	send     sendFunc
	retryFor time.Duration
	answers  *tally

	sent, accepted, dropped atomic.Int64 // spans
	queued                  atomic.Int64 // batches held
	wg                      sync.WaitGroup
}

// export sends body, holding spans, in the background until it is accepted, refused for good,
// or retryFor has passed. ctx ends retries early (the bench is interrupted).
func (e *exporter) export(ctx context.Context, body []byte, spans int64) {
	e.sent.Add(spans)
	if e.queued.Add(1) > maxQueued {
		e.queued.Add(-1)
		e.dropped.Add(spans)
		return
	}
	e.wg.Go(func() {
		defer e.queued.Add(-1)
		if rejected, ok := e.deliver(ctx, body); ok {
			e.accepted.Add(spans - rejected)
		} else {
			e.dropped.Add(spans)
		}
	})
}

// deliver makes attempts until one succeeds, one fails for good, or the next would start after
// retryFor. It returns the spans the server rejected and whether the batch was delivered.
func (e *exporter) deliver(ctx context.Context, body []byte) (rejected int64, ok bool) {
	start := time.Now()
	backoff := initialBackoff
	for {
		actx, cancel := context.WithTimeout(ctx, exportTimeout)
		a := e.send(actx, body)
		cancel()
		e.answers.add(a.code)
		if a.ok {
			return a.rejected, true
		}
		if !a.retry {
			return 0, false
		}
		delay := max(jitter(backoff), a.after)
		backoff = min(backoff*3/2, maxBackoff)
		if time.Since(start)+delay > e.retryFor {
			return 0, false
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(delay):
		}
	}
}

// jitter returns d randomised by ±50%.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// wait blocks until every batch is delivered or given up.
func (e *exporter) wait() { e.wg.Wait() }

// legitBatch returns a batch of n GenAI spans from seed, marshalled as OTLP protobuf. Each seed
// gives its own trace and span IDs, so no two batches of a run repeat a span.
func legitBatch(n int, seed int64, now time.Time) []byte {
	td := spangen.Generate(spangen.Config{Spans: n, LLMFraction: 1, Seed: seed, Start: now.Add(-time.Minute)})
	return spangen.MarshalProto(td)
}

// httpSend returns a sendFunc posting OTLP/HTTP protobuf to url with client.
func httpSend(client *http.Client, url string) sendFunc {
	return func(ctx context.Context, body []byte) attempt {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return attempt{code: "request error", err: err}
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := client.Do(req)
		if err != nil {
			// The SDK retries transport errors (a connection refused or reset).
			return attempt{code: "transport error", retry: true, err: err}
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return httpAttempt(resp, data, err)
	}
}

// httpAttempt classifies an OTLP/HTTP answer as the OTel Go exporter does: 2xx is success
// (with a partial-success count), 429, 502, 503 and 504 are retried after Retry-After when
// given, anything else is permanent.
func httpAttempt(resp *http.Response, body []byte, readErr error) attempt {
	a := attempt{code: strconv.Itoa(resp.StatusCode)}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		a.retry = true
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			a.after = time.Duration(s) * time.Second
		}
		return a
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.err = fmt.Errorf("http %d", resp.StatusCode)
		return a
	}
	if readErr != nil {
		a.retry, a.err = true, readErr
		return a
	}
	a.ok = true
	if len(body) > 0 {
		er := ptraceotlp.NewExportResponse()
		if err := er.UnmarshalProto(body); err == nil {
			a.rejected = er.PartialSuccess().RejectedSpans()
		}
	}
	return a
}

// grpcSend returns a sendFunc calling Export on cc.
func grpcSend(cc *grpc.ClientConn) sendFunc {
	return func(ctx context.Context, body []byte) attempt { return exportGRPC(ctx, cc, body) }
}
