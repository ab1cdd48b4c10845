package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// The proofs of issue 18 on the real binary: whose failures are they? Each service exports its
// own calls, under its own resource, at a steady rate, as an instrumented application would.

// whoseConfig is fastConfig with a longer hold-down: a verdict stays while the test reads it.
var whoseConfig = strings.NewReplacer("hold_down_base: 1s", "hold_down_base: 30s", "hold_down_max: 1s", "hold_down_max: 30s").Replace(fastConfig)

const whoseModel = "claude-sonnet-4-5"

// caller is one calling application: its service, the endpoint host its calls go to, and the
// chance that a call fails now (a 529, or a timeout for a broken network).
type caller struct {
	service, endpoint string
	mu                sync.Mutex
	fail              float64
	class             string
}

func (c *caller) set(fail float64, class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail, c.class = fail, class
}

func (c *caller) next(rng *rand.Rand) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return rng.Float64() < c.fail, c.class
}

// export sends rate calls a second of whoseModel from c to addr until stop is closed.
func (c *caller) export(addr string, rate float64, seed uint64, stop <-chan struct{}) error {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(50*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(c.service))))
	tracer := tp.Tracer("test")
	rng := rand.New(rand.NewPCG(seed, 1))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return tp.Shutdown(context.Background())
		case <-tick.C:
		}
		fails, class := c.next(rng)
		attrs := []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", whoseModel),
		}
		if c.endpoint != "" {
			attrs = append(attrs, attribute.String("server.address", c.endpoint))
		}
		if fails {
			attrs = append(attrs, attribute.String("error.type", class))
		} else {
			attrs = append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		}
		end := time.Now()
		_, span := tracer.Start(context.Background(), "chat "+whoseModel, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(end.Add(-time.Second)), trace.WithAttributes(attrs...))
		if fails {
			span.SetStatus(codes.Error, class)
		}
		span.End(trace.WithTimestamp(end))
	}
}

// traffic runs callers until the test ends.
func traffic(t *testing.T, addr string, rate float64, callers ...*caller) {
	stop := make(chan struct{})
	errs := make(chan error, len(callers))
	for i, c := range callers {
		go func() { errs <- c.export(addr, rate, uint64(i+1), stop) }()
	}
	t.Cleanup(func() {
		close(stop)
		for range callers {
			require.NoError(t, <-errs)
		}
	})
}

// modelAnswer fetches GET /v1/health/anthropic/{model}{query}: its status code and body.
func modelAnswer(t *testing.T, api, query string) (int, health.ModelView) {
	t.Helper()
	code, body := get(t, "http://"+api+"/v1/health/anthropic/"+whoseModel+query)
	var v health.ModelView
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return code, v
}

// localOf returns a model's local verdict for a caller ("service:batch-jobs").
func localOf(m health.ModelView, caller string) (health.LocalView, bool) {
	for _, l := range m.Local {
		if l.Caller == caller {
			return l, true
		}
	}
	return health.LocalView{}, false
}

// TestOneServiceFailingIsNotTheProviders: checkout, search and batch-jobs call one model at 10
// calls/s each. batch-jobs' network breaks (95% timeouts): the model stays 200 for everyone,
// batch-jobs' own answer is 503, a local incident opens for it with its own Slack thread naming
// it, and no provider incident opens. Then every service fails (529s): the model is 503 within
// seconds, as before the per-caller verdict.
func TestOneServiceFailingIsNotTheProviders(t *testing.T) {
	t.Parallel()
	slack := slackfake.New(t)
	w := proc{watchertest.StartWatcher(t, whoseConfig,
		"OUTAGEWATCH_SLACK_BOT_TOKEN=xoxb-test", "OUTAGEWATCH_SLACK_CHANNEL=C0WHOSE", "OUTAGEWATCH_SLACK_API_URL="+slack.APIURL())}
	checkout, search, batch := &caller{service: "checkout", fail: 0.01, class: "OverloadedError"},
		&caller{service: "search", fail: 0.01, class: "OverloadedError"},
		&caller{service: "batch-jobs", fail: 0.01, class: "OverloadedError"}
	traffic(t, w.OTLPHTTP, 10, checkout, search, batch)
	w.await(t, 60*time.Second, "the model healthy on its own calls", func(r health.Report) bool {
		m, ok := model(r, whoseModel)
		return ok && m.State == "healthy" && m.Baseline.From == "own" && m.Figures.Calls >= 300
	})

	broke := time.Now()
	batch.set(0.95, "timeout")
	r := w.await(t, 30*time.Second, "batch-jobs' local verdict", func(r health.Report) bool {
		m, _ := model(r, whoseModel)
		l, ok := localOf(m, "service:batch-jobs")
		return ok && l.State == "down"
	})
	t.Logf("batch-jobs' local verdict %v after its network broke", time.Since(broke).Round(time.Millisecond))
	m, _ := model(r, whoseModel)
	require.Equal(t, "healthy", m.State, "the model stays usable for the others")
	p, _ := anthropic(r)
	require.Equal(t, "healthy", p.State, "and so does the provider")

	code, own := modelAnswer(t, w.API, "?service=batch-jobs")
	require.Equal(t, http.StatusServiceUnavailable, code, "batch-jobs' own answer")
	require.Equal(t, "down", own.State)
	code, plain := modelAnswer(t, w.API, "")
	require.Equal(t, http.StatusOK, code, "the plain answer")
	require.True(t, strings.Contains(reasonTexts(plain.Reasons), "batch-jobs"), "the plain answer names the failing caller: %+v", plain.Reasons)
	code, _ = modelAnswer(t, w.API, "?service=checkout")
	require.Equal(t, http.StatusOK, code, "checkout's answer")

	// A local incident with its own Slack thread naming batch-jobs; no provider incident.
	var local incidents.IncidentView
	require.Eventually(t, func() bool {
		for _, inc := range incidentsOf(t, w.API) {
			require.NotEmpty(t, inc.Caller, "no provider incident while batch-jobs fails alone: %+v", inc)
			if inc.Caller == "service:batch-jobs" {
				local = inc
			}
		}
		return local.ID != 0
	}, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, "anthropic", local.Provider)
	require.Contains(t, local.Models, whoseModel)
	var root slackfake.Stored
	require.Eventually(t, func() bool {
		for _, m := range slack.Messages() {
			if m.ThreadTS == "" && strings.Contains(m.Text, "batch-jobs") {
				root = m
			}
		}
		return root.TS != ""
	}, 20*time.Second, 50*time.Millisecond, "a Slack thread naming batch-jobs: %+v", slack.Messages())
	var thread strings.Builder
	require.Eventually(t, func() bool {
		thread.Reset()
		for _, m := range slack.Messages() {
			if m.TS == root.TS || m.ThreadTS == root.TS {
				thread.WriteString(m.Text + "\n" + m.Blocks + "\n")
			}
		}
		return strings.Contains(thread.String(), "fails alone")
	}, 20*time.Second, 50*time.Millisecond, "the thread says batch-jobs fails alone: %+v", slack.Messages())
	t.Logf("Slack thread: %s", thread.String())

	// Everyone fails: the provider's verdict, at once.
	outage := time.Now()
	for _, c := range []*caller{checkout, search, batch} {
		c.set(1, "OverloadedError")
	}
	w.await(t, 10*time.Second, "the model down for everyone", func(r health.Report) bool {
		m, _ := model(r, whoseModel)
		return m.State == "down"
	})
	delay := time.Since(outage)
	t.Logf("every service failing: the model down %v after", delay.Round(time.Millisecond))
	require.Less(t, delay, 5*time.Second)
	code, _ = modelAnswer(t, w.API, "")
	require.Equal(t, http.StatusServiceUnavailable, code, "the plain answer is 503 now")
	require.Eventually(t, func() bool {
		for _, inc := range incidentsOf(t, w.API) {
			if inc.Caller == "" && inc.Provider == "anthropic" {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "the provider's incident")
}

// incidentsOf fetches GET /v1/incidents from a binary's API.
func incidentsOf(t *testing.T, api string) []incidents.IncidentView {
	t.Helper()
	code, body := get(t, "http://"+api+"/v1/incidents")
	require.Equal(t, http.StatusOK, code, body)
	var out struct {
		Incidents []incidents.IncidentView `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out.Incidents
}

// TestOneEndpointFailingIsNotTheProviders: one service calls the model through three regional
// endpoints; eu's calls time out while us and ap answer: the model stays 200, the eu endpoint's
// own answer is 503.
func TestOneEndpointFailingIsNotTheProviders(t *testing.T) {
	t.Parallel()
	w := proc{watchertest.StartWatcher(t, whoseConfig)}
	us, eu, ap := &caller{service: "checkout", endpoint: "us.api.example.com", fail: 0.01, class: "OverloadedError"},
		&caller{service: "checkout", endpoint: "eu.api.example.com", fail: 0.01, class: "OverloadedError"},
		&caller{service: "checkout", endpoint: "ap.api.example.com", fail: 0.01, class: "OverloadedError"}
	traffic(t, w.OTLPHTTP, 10, us, eu, ap)
	w.await(t, 60*time.Second, "the model healthy on its own calls", func(r health.Report) bool {
		m, ok := model(r, whoseModel)
		return ok && m.State == "healthy" && m.Baseline.From == "own" && m.Figures.Calls >= 300
	})
	eu.set(0.95, "timeout")
	r := w.await(t, 30*time.Second, "eu's local verdict", func(r health.Report) bool {
		m, _ := model(r, whoseModel)
		l, ok := localOf(m, "endpoint:eu.api.example.com")
		return ok && l.State == "down"
	})
	m, _ := model(r, whoseModel)
	require.Equal(t, "healthy", m.State)
	code, own := modelAnswer(t, w.API, "?endpoint=eu.api.example.com")
	require.Equal(t, http.StatusServiceUnavailable, code, "eu's own answer")
	require.Equal(t, "down", own.State)
	code, _ = modelAnswer(t, w.API, "?endpoint=us.api.example.com")
	require.Equal(t, http.StatusOK, code, "us' answer")
	code, _ = modelAnswer(t, w.API, "")
	require.Equal(t, http.StatusOK, code, "the plain answer")
}

func reasonTexts(rs []health.Reason) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Text)
		b.WriteString("\n")
	}
	return b.String()
}
