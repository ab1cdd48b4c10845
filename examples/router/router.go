package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// healthChecker says whether a provider's model may be sent to; *client.Client is one. Usable
// is called on every request, from many goroutines: it must be safe for concurrent use and
// fast.
type healthChecker interface {
	Usable(provider, model string) bool
}

// healthFunc adapts a function to healthChecker.
type healthFunc func(provider, model string) bool

// Usable calls f.
func (f healthFunc) Usable(provider, model string) bool { return f(provider, model) }

// target is one provider's model and where its API is.
type target struct {
	Provider, Model, URL string
}

// stats are the router's counters since it started.
type stats struct {
	Requests   int64 // user requests
	ToPrimary  int64 // user requests routed to the primary first
	ToFallback int64 // user requests routed to the fallback first (the primary was unusable)
	Retried    int64 // user requests retried on the fallback after the primary failed
	Failed     int64 // user requests that failed: what users notice
	// PrimaryErrors are user calls to the primary that failed (each cost a retry).
	PrimaryErrors int64
	Probes        int64 // probe calls to an unusable primary
	ProbeErrors   int64
}

// Router sends each user request to the primary while outagewatch says it is usable, else to the
// fallback; a failed primary call is retried once on the fallback. While the primary is
// unusable, it sends probes to it (Probe): a series that receives no traffic cannot be seen to
// recover. Every provider call is recorded as an OpenTelemetry span the way instrumented SDKs
// record them, which is what outagewatch watches.
type Router struct {
	health            healthChecker
	primary, fallback target
	http              *http.Client
	tracer            trace.Tracer

	requests, toPrimary, toFallback, retried, failed atomic.Int64
	primaryErrors, probes, probeErrors               atomic.Int64
}

// newRouter returns a router over the two targets. hc makes the provider calls.
func newRouter(health healthChecker, primary, fallback target, hc *http.Client, tracer trace.Tracer) *Router {
	return &Router{health: health, primary: primary, fallback: fallback, http: hc, tracer: tracer}
}

// Stats returns the counters.
func (r *Router) Stats() stats {
	return stats{
		Requests: r.requests.Load(), ToPrimary: r.toPrimary.Load(), ToFallback: r.toFallback.Load(),
		Retried: r.retried.Load(), Failed: r.failed.Load(), PrimaryErrors: r.primaryErrors.Load(),
		Probes: r.probes.Load(), ProbeErrors: r.probeErrors.Load(),
	}
}

// PrimaryUsable reports whether outagewatch lets the primary take traffic.
func (r *Router) PrimaryUsable() bool { return r.health.Usable(r.primary.Provider, r.primary.Model) }

// Handle serves one user request: the primary when usable, else the fallback; a failed primary
// call is retried once on the fallback. The error is what the user sees.
func (r *Router) Handle(ctx context.Context, prompt string) (string, error) {
	r.requests.Add(1)
	ctx, span := r.tracer.Start(ctx, "router.handle", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	if !r.PrimaryUsable() {
		r.toFallback.Add(1)
		text, err := r.call(ctx, r.fallback, prompt, false)
		if err != nil {
			r.failed.Add(1)
			span.SetStatus(codes.Error, err.Error())
		}
		return text, err
	}
	r.toPrimary.Add(1)
	text, err := r.call(ctx, r.primary, prompt, false)
	if err == nil {
		return text, nil
	}
	r.primaryErrors.Add(1)
	r.retried.Add(1)
	text, ferr := r.call(ctx, r.fallback, prompt, false)
	if ferr != nil {
		r.failed.Add(1)
		err = errors.Join(err, ferr)
		span.SetStatus(codes.Error, err.Error())
		return "", err
	}
	return text, nil
}

// Probe sends one probe call to the primary if it is unusable, and reports whether it did.
// Probes are not user requests: their spans carry outagewatch.probe=true.
func (r *Router) Probe(ctx context.Context) bool {
	if r.PrimaryUsable() {
		return false
	}
	r.probes.Add(1)
	// A probe in flight finishes even at shutdown: cut short, it would count as a timeout.
	if _, err := r.call(context.WithoutCancel(ctx), r.primary, "ping", true); err != nil {
		r.probeErrors.Add(1)
	}
	return true
}

// RunProbes probes the primary every interval while it is unusable, until ctx ends.
func (r *Router) RunProbes(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			r.Probe(ctx)
		}
	}
}

// apiError is a provider's non-2xx answer. Its text is the Anthropic and OpenAI SDKs' own
// ("Error code: 529 - {body}"), capitalised as they write it: it is what instrumented apps put
// in the span status, and what outagewatch reads.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("Error code: %d - %s", e.Status, e.Body) }

// errorType is the SDK exception name an instrumentation puts in error.type.
func errorType(err error) string {
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status == 529:
		return "OverloadedError"
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		return "RateLimitError"
	case errors.As(err, &ae) && ae.Status >= 500:
		return "InternalServerError"
	case errors.As(err, &ae):
		return "APIStatusError"
	case errors.Is(err, context.DeadlineExceeded):
		return "APITimeoutError"
	}
	return "APIConnectionError"
}

// call makes one provider call inside a `chat <model>` CLIENT span with the GenAI semantic
// conventions' attributes.
func (r *Router) call(ctx context.Context, t target, prompt string, probe bool) (string, error) {
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", t.Provider),
		attribute.String("gen_ai.request.model", t.Model),
		attribute.Int("gen_ai.request.max_tokens", 256),
	}
	if probe {
		attrs = append(attrs, attribute.Bool("outagewatch.probe", true))
	}
	ctx, span := r.tracer.Start(ctx, "chat "+t.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	resp, err := r.post(ctx, t, prompt)
	if err != nil {
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		span.SetStatus(codes.Error, err.Error())
		return "", err
	}
	span.SetAttributes(
		attribute.String("gen_ai.response.id", resp.ID),
		attribute.String("gen_ai.response.model", resp.Model),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
		attribute.Int("gen_ai.usage.input_tokens", resp.Usage.InputTokens),
		attribute.Int("gen_ai.usage.output_tokens", resp.Usage.OutputTokens),
	)
	var text strings.Builder
	for _, c := range resp.Content {
		text.WriteString(c.Text)
	}
	return text.String(), nil
}

// post sends the Messages API request and decodes the answer.
func (r *Router) post(ctx context.Context, t target, prompt string) (*messageResponse, error) {
	body, err := json.Marshal(map[string]any{
		"model": t.Model, "max_tokens": 256,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer of %s: %w", t.Provider, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	var m messageResponse
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode answer of %s: %w", t.Provider, err)
	}
	return &m, nil
}
