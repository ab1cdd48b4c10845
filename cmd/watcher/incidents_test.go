package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/internal/pgtest"
)

// fastConfig makes incidents open and resolve in seconds: a short group wait, short hold-downs
// and a short warm-up.
const fastConfig = `
incidents:
  group_wait: 300ms
  retry_min: 50ms
  retry_max: 500ms
detectors:
  warmup_calls: 10
  warmup_age: 0s
  hold_degraded: 1s
  hold_down_base: 1s
  hold_down_max: 1s
`

// daemon is an in-process watcher with its own environment.
type daemon struct {
	a      *app
	config string // the configuration file's path
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startDaemon(t *testing.T, env map[string]string) *daemon {
	t.Helper()
	return startDaemonWith(t, fastConfig, env)
}

// startDaemonWith starts a daemon with the configuration file yaml.
func startDaemonWith(t *testing.T, yaml string, env map[string]string) *daemon {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "watcher.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o600))
	if _, ok := env["OUTAGEWATCH_DATA_DIR"]; !ok {
		env["OUTAGEWATCH_DATA_DIR"] = dir
	}
	env["OUTAGEWATCH_API_TOKEN"] = "secret-token"
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{config: cfg, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	started := make(chan *app, 1)
	args := []string{"-config", cfg, "-api.addr", "127.0.0.1:0", "-otlp.grpc.addr", "127.0.0.1:0", "-otlp.http.addr", "127.0.0.1:0"}
	go func() {
		d.done <- run(ctx, args, func(k string) string { return env[k] }, d.logs, func(a *app) { started <- a }, nil)
	}()
	select {
	case d.a = <-started:
	case err := <-d.done:
		t.Fatalf("watcher exited early: %v\n%s", err, d.logs)
	case <-time.After(20 * time.Second):
		t.Fatal("watcher did not start")
	}
	return d
}

func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	require.NoError(t, <-d.done)
}

func (d *daemon) api() string { return "http://" + d.a.apiAddr() }

// sendCalls exports n chat spans of claude-sonnet through the SDK; failing ones are 529s.
func sendCalls(t *testing.T, d *daemon, n int, failing bool) {
	t.Helper()
	sendModelCalls(t, d, "claude-sonnet", n, failing)
}

// sendModelCalls exports n chat spans of an Anthropic model through the SDK.
func sendModelCalls(t *testing.T, d *daemon, model string, n int, failing bool) {
	t.Helper()
	sendSpans(t, d.a.ingest.HTTPAddr(), model, n, failing)
}

// sendSpans exports n chat spans of an Anthropic model to an OTLP/HTTP receiver through the
// SDK; failing ones are 529s.
func sendSpans(t *testing.T, addr, model string, n int, failing bool) {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(addr), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("checkout"))))
	tracer := tp.Tracer("test")
	for i := 0; i < n; i++ {
		_, span := tracer.Start(context.Background(), "chat "+model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(chatAttributes(model, failing)...))
		if failing {
			span.SetStatus(codes.Error, "Error code: 529 - overloaded_error")
		}
		span.End()
	}
	require.NoError(t, tp.Shutdown(context.Background()))
}

// chatAttributes are a GenAI chat span's attributes: a stop, or an overloaded error.
func chatAttributes(model string, failing bool) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", "anthropic"),
		attribute.String("gen_ai.request.model", model),
	}
	if failing {
		return append(attrs, attribute.String("error.type", "OverloadedError"))
	}
	return append(attrs, attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
}

// incidentList fetches GET /v1/incidents.
func incidentList(t *testing.T, d *daemon, query string) []incidents.IncidentView {
	t.Helper()
	code, body := get(t, d.api()+"/v1/incidents"+query)
	require.Equal(t, http.StatusOK, code, body)
	var out struct {
		Incidents []incidents.IncidentView `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out.Incidents
}

type timelineView struct {
	incidents.IncidentView
	Timeline []incidents.EventView `json:"timeline"`
}

func incidentByID(t *testing.T, d *daemon, id int64) timelineView {
	t.Helper()
	code, body := get(t, fmt.Sprintf("%s/v1/incidents/%d", d.api(), id))
	require.Equal(t, http.StatusOK, code, body)
	var out timelineView
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out
}

// outage sends failing calls until claude-sonnet is down.
func outage(t *testing.T, d *daemon) {
	t.Helper()
	outageOf(t, d, "claude-sonnet")
}

// outageOf sends failing calls until the model is down.
func outageOf(t *testing.T, d *daemon, model string) {
	t.Helper()
	key := detectors.SeriesKey{Provider: "anthropic", Model: model}
	require.Eventually(t, func() bool {
		sendModelCalls(t, d, model, 6, true)
		st, ok := d.a.board.Get(key)
		return ok && st.State == detectors.StateDown
	}, 20*time.Second, 50*time.Millisecond)
}

// recoverModel sends good calls until the model is no longer failing.
func recoverModel(t *testing.T, d *daemon) {
	t.Helper()
	key := detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet"}
	require.Eventually(t, func() bool {
		sendCalls(t, d, 10, false)
		st, _ := d.a.board.Get(key)
		return st.State == detectors.StateHealthy || st.State == detectors.StateUnknown
	}, 30*time.Second, 200*time.Millisecond)
}

func TestIncidentLifecycleOnSQLite(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, map[string]string{})
	defer d.stop(t)
	sendCalls(t, d, 15, false)
	outage(t, d)
	require.Eventually(t, func() bool { return len(incidentList(t, d, "?state=active")) == 1 }, 10*time.Second, 50*time.Millisecond)
	inc := incidentList(t, d, "")[0]
	require.Equal(t, "anthropic", inc.Provider)
	require.Equal(t, incidents.SeverityCritical, inc.Severity)
	require.Contains(t, inc.Models, "claude-sonnet")

	// The mutating API needs the token.
	post := func(path, token string) int {
		req, err := http.NewRequest(http.MethodPost, d.api()+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	ack := fmt.Sprintf("/v1/incidents/%d/ack", inc.ID)
	require.Equal(t, http.StatusUnauthorized, post(ack, ""))
	require.Equal(t, http.StatusForbidden, post(ack, "wrong"))
	require.Equal(t, http.StatusOK, post(ack, "secret-token"))
	require.Equal(t, http.StatusNotFound, post("/v1/incidents/999/ack", "secret-token"))

	recoverModel(t, d)
	require.Eventually(t, func() bool { return len(incidentList(t, d, "?state=resolved")) == 1 }, 30*time.Second, 50*time.Millisecond)
	got := incidentByID(t, d, inc.ID)
	require.Equal(t, incidents.StateResolved, got.State)
	require.Equal(t, "env", got.AcknowledgedBy, "the actor is the token's name: OUTAGEWATCH_API_TOKEN is \"env\"")
	kinds := []incidents.EventKind{}
	for _, e := range got.Timeline {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, incidents.EventOpened, kinds[0])
	require.Contains(t, kinds, incidents.EventAcknowledged)
	require.Equal(t, incidents.EventResolved, kinds[len(kinds)-1])
	require.Equal(t, "error_rate_down", got.Timeline[0].Evidence.Detector)
	require.Empty(t, incidentList(t, d, "?provider=openai"))
	code, _ := get(t, d.api()+"/v1/incidents?state=bogus")
	require.Equal(t, http.StatusBadRequest, code)
}

// TestPostgresDownDuringAnIncident stops Postgres in the middle of an incident, lets the incident
// resolve while it is down, and starts it again: the timeline is complete, in order, once.
func TestPostgresDownDuringAnIncident(t *testing.T) {
	t.Parallel()
	cluster := pgtest.NewCluster(t)
	dsn := cluster.NewDatabase(t)
	d := startDaemon(t, map[string]string{"OUTAGEWATCH_POSTGRES_DSN": dsn})
	defer d.stop(t)
	sendCalls(t, d, 15, false)
	outage(t, d)
	require.Eventually(t, func() bool { return len(incidentList(t, d, "?state=active")) == 1 }, 10*time.Second, 50*time.Millisecond)

	cluster.Stop(t)
	recoverModel(t, d)
	// Detection and the health signal carry on; readiness says the store is not reachable.
	require.Eventually(t, func() bool {
		code, body := get(t, d.api()+"/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "store")
	}, 20*time.Second, 100*time.Millisecond)
	code, _ := get(t, d.api()+"/v1/health/anthropic/claude-sonnet")
	require.Equal(t, http.StatusOK, code)
	require.Positive(t, d.a.incidents.QueueDepth(), "changes wait in the queue")

	cluster.Start(t)
	require.Eventually(t, func() bool { return d.a.incidents.QueueDepth() == 0 }, 30*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		code, _ := get(t, d.api()+"/readyz")
		return code == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond)
	incs := incidentList(t, d, "")
	require.Len(t, incs, 1)
	got := incidentByID(t, d, incs[0].ID)
	require.Equal(t, incidents.StateResolved, got.State)
	seen := map[string]bool{}
	var prev time.Time
	for _, e := range got.Timeline {
		key := fmt.Sprintf("%s %s %s>%s", e.Kind, e.Model, e.From, e.To)
		require.False(t, seen[key], "event %s recorded twice", key)
		seen[key] = true
		require.False(t, e.At.Before(prev), "timeline in order")
		prev = e.At
	}
	require.Equal(t, incidents.EventOpened, got.Timeline[0].Kind)
	require.Equal(t, incidents.EventResolved, got.Timeline[len(got.Timeline)-1].Kind)
}

// TestRestartAndReplicasShareOneIncident: a daemon restarted during an incident answers as
// before, at once and before any traffic, and continues the incident; a second daemon on the
// same database that sees a second model fail writes its change into that same incident.
func TestRestartAndReplicasShareOneIncident(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	first := startDaemon(t, map[string]string{"OUTAGEWATCH_POSTGRES_DSN": dsn})
	sendCalls(t, first, 15, false)
	outage(t, first)
	require.Eventually(t, func() bool { return len(incidentList(t, first, "?state=active")) == 1 }, 10*time.Second, 50*time.Millisecond)
	first.stop(t)

	restarted := startDaemon(t, map[string]string{"OUTAGEWATCH_POSTGRES_DSN": dsn})
	defer restarted.stop(t)
	require.Contains(t, restarted.logs.String(), "snapshot restored")
	code, body := get(t, restarted.api()+"/v1/health/anthropic/claude-sonnet")
	require.Equal(t, http.StatusServiceUnavailable, code, "down before any traffic, as before the restart: %s", body)
	replica := startDaemon(t, map[string]string{"OUTAGEWATCH_POSTGRES_DSN": dsn})
	defer replica.stop(t)
	code, _ = get(t, replica.api()+"/v1/health/anthropic/claude-sonnet")
	require.Equal(t, http.StatusServiceUnavailable, code, "the replica starts from the same snapshot")

	incs := incidentList(t, replica, "")
	require.Len(t, incs, 1)
	before := len(incidentByID(t, replica, incs[0].ID).Timeline)
	sendModelCalls(t, replica, "claude-haiku", 15, false)
	outageOf(t, replica, "claude-haiku")
	require.Eventually(t, func() bool {
		got := incidentByID(t, restarted, incs[0].ID)
		return replica.a.incidents.QueueDepth() == 0 && len(got.Timeline) > before && slices.Contains(got.Models, "claude-haiku")
	}, 10*time.Second, 50*time.Millisecond, "the replica's change is written into the incident")
	incs = incidentList(t, restarted, "")
	require.Len(t, incs, 1, "one incident across a restart and two replicas")
	require.Equal(t, incidents.StateOpen, incs[0].State)
}
