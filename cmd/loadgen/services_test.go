package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The service drills: three services of one application call the same model.
var drillServices = []string{"checkout", "search", "batch-jobs"}

func TestServiceDrillScenarios(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"one-service-failing", "provider-down"} {
		sc := mustScenario(t, name)
		require.Equal(t, drillServices, sc.Traffic.services(), name)
		require.Len(t, sc.Traffic.Targets, 3, name)
		for _, tg := range sc.Traffic.Targets {
			require.Equal(t, "anthropic/claude-sonnet-4-5", tg.key(), name)
			require.InDelta(t, 7, tg.Rate, 1, "%s: ~7 calls/s per service", name)
		}
		var phases []string
		for _, p := range sc.Phases {
			phases = append(phases, p.Name)
			require.Equal(t, 60*time.Second, p.Duration, "%s %s", name, p.Name)
		}
		require.Len(t, phases, 3, name)
		require.Equal(t, []string{"baseline", "recovery"}, []string{phases[0], phases[2]}, name)
		require.Empty(t, sc.Phases[0].Overrides, name)
		require.Empty(t, sc.Phases[2].Overrides, name)
	}
}

// tally counts one service's calls in one phase, from the spans emitted.
type tally struct {
	calls, failed int
	attempts      int
	// attemptErrors counts the failed POST spans by their error.type.
	attemptErrors map[string]int
}

func (t *tally) failedShare() float64 { return float64(t.failed) / float64(t.calls) }

// emitDrill plays the whole timeline of a scenario, every call drawn at its arrival and its
// spans emitted at once through one tracer provider per service, and tallies the spans by the
// service.name of their resource and by the phase in force when the call's last attempt began
// (the attempt whose result is the call's).
func emitDrill(tb testing.TB, name string, seed uint64) map[string]map[string]*tally {
	tb.Helper()
	sc := mustScenario(tb, name)
	g := newGenerator(sc, seed, t0, 0)
	exp := tracetest.NewInMemoryExporter()
	newTP := func(service string) *sdktrace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
	}
	byService := map[string]trace.TracerProvider{}
	for _, s := range sc.Traffic.services() {
		byService[s] = newTP(s)
	}
	em := newServiceEmitter(newTP(sc.Traffic.Service), byService)
	for ti := range sc.Traffic.Targets {
		for at, ok := g.nextArrival(ti, t0); ok; at, ok = g.nextArrival(ti, at) {
			em.emitNow(renderCall(g.plan(ti, at)))
		}
	}

	type call struct {
		root  *tracetest.SpanStub
		posts []tracetest.SpanStub
	}
	calls := map[trace.TraceID]*call{}
	stubs := exp.GetSpans()
	for i := range stubs {
		s := &stubs[i]
		c := calls[s.SpanContext.TraceID()]
		if c == nil {
			c = &call{}
			calls[s.SpanContext.TraceID()] = c
		}
		switch {
		case !s.Parent.IsValid():
			c.root = s
		case s.Name == "POST":
			c.posts = append(c.posts, *s)
		}
	}
	out := map[string]map[string]*tally{}
	for _, c := range calls {
		require.NotNil(tb, c.root)
		require.NotEmpty(tb, c.posts)
		svc, ok := c.root.Resource.Set().Value("service.name")
		require.True(tb, ok)
		for _, p := range c.posts {
			require.Equal(tb, c.root.Resource, p.Resource, "a call's spans share its service's resource")
		}
		slices.SortFunc(c.posts, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
		phase := g.windowAt(c.posts[len(c.posts)-1].StartTime).name
		if out[svc.AsString()] == nil {
			out[svc.AsString()] = map[string]*tally{}
		}
		tl := out[svc.AsString()][phase]
		if tl == nil {
			tl = &tally{attemptErrors: map[string]int{}}
			out[svc.AsString()][phase] = tl
		}
		tl.calls++
		if c.root.Status.Code == codes.Error {
			tl.failed++
		}
		for _, p := range c.posts {
			tl.attempts++
			if et := attrs(p)["error.type"]; et.AsString() != "" {
				tl.attemptErrors[et.AsString()]++
			}
		}
	}
	return out
}

// one-service-failing: only batch-jobs' calls fail, 95% of them, by timing out on the client;
// checkout and search stay at their baseline through the same minute.
func TestOneServiceFailingSpans(t *testing.T) {
	t.Parallel()
	got := emitDrill(t, "one-service-failing", 11)
	require.ElementsMatch(t, drillServices, keys(got), "the spans' service.name")
	for _, svc := range drillServices {
		for _, phase := range []string{"baseline", "batch-jobs-network", "recovery"} {
			tl := got[svc][phase]
			require.NotNil(t, tl, "%s %s", svc, phase)
			require.InDelta(t, 7*60, tl.calls, 4*20.5+10, "%s %s: ~7 calls/s", svc, phase)
			if svc == "batch-jobs" && phase == "batch-jobs-network" {
				require.InDelta(t, 0.95, tl.failedShare(), 0.04, "%s %s", svc, phase)
				require.Equal(t, tl.calls, tl.attempts, "batch-jobs does not retry in the SDK: an attempt is a call")
				require.Equal(t, tl.failed, tl.attemptErrors["UND_ERR_HEADERS_TIMEOUT"], "its calls fail by timing out, no status")
				continue
			}
			require.Less(t, tl.failedShare(), 0.04, "%s %s: baseline", svc, phase)
			require.Less(t, tl.attemptErrors["UND_ERR_HEADERS_TIMEOUT"], 8, "%s %s: baseline timeouts", svc, phase)
		}
	}
}

// provider-down: every call of every service fails with 529 during the outage, none outside it.
func TestProviderDownSpans(t *testing.T) {
	t.Parallel()
	got := emitDrill(t, "provider-down", 12)
	require.ElementsMatch(t, drillServices, keys(got), "the spans' service.name")
	for _, svc := range drillServices {
		for _, phase := range []string{"baseline", "outage", "recovery"} {
			tl := got[svc][phase]
			require.NotNil(t, tl, "%s %s", svc, phase)
			require.Positive(t, tl.calls, "%s %s", svc, phase)
			if phase == "outage" {
				require.Equal(t, tl.calls, tl.failed, "%s: every call fails", svc)
				overloaded := tl.attemptErrors["529"]
				require.Positive(t, overloaded)
				// Every attempt that began in the outage answered 529; only a call's first
				// attempts may have begun in the baseline before it.
				require.GreaterOrEqual(t, overloaded, tl.attempts-tl.calls/10, "%s: attempts are 529s", svc)
				continue
			}
			require.Less(t, tl.failedShare(), 0.04, "%s %s: baseline", svc, phase)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A run of a drill exports each service's spans under its own service.name; OTEL_SERVICE_NAME
// names only the calls of targets without a service of their own.
func TestRunExportsEachService(t *testing.T) {
	t.Parallel()
	rcv, srv := newReceiver(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "services.yaml")
	yaml := strings.Replace(fastYAML, `    - provider: anthropic
      model: claude-sonnet-4-5`, `    - provider: anthropic
      model: claude-haiku-4-5
      rate: 20
    - service: checkout
      provider: anthropic
      model: claude-sonnet-4-5
      rate: 20
      ttft: {median: 50ms, sigma: 0.2}
      token_time: {median: 1ms, sigma: 0.2}
      output_tokens: {median: 100, sigma: 0.3}
    - service: batch-jobs
      max_retries: 0
      provider: anthropic
      model: claude-sonnet-4-5`, 1)
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	env := map[string]string{"OTEL_SERVICE_NAME": "from-env"}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-scenario", path, "-endpoint", srv.URL, "-seed", "4", "-drain", "5s", "-quiet"},
		func(k string) string { return env[k] }, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	summaryRow(t, stdout.String(), "checkout:anthropic/claude-sonnet-4-5")
	summaryRow(t, stdout.String(), "batch-jobs:anthropic/claude-sonnet-4-5")
	summaryRow(t, stdout.String(), "anthropic/claude-haiku-4-5")
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Equal(t, map[string]bool{"from-env": true, "checkout": true, "batch-jobs": true}, rcv.services)
}
