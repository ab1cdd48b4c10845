package collector

import (
	"context"
	"crypto/rand"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const (
	lbTraces       = 300 // traces sent through the load-balancing Collectors
	lbSpansInTrace = 3   // an LLM span and two HTTP attempts to the provider (a retry)
	lbReplicas     = 3   // in-test OTLP receivers standing for outagewatch replicas
	lbPerRequest   = 50  // traces per export request
	// Each replica must get at least this share of the traces. The exporter's hash ring gives
	// each of 3 replicas about a third; which share exactly depends on the replicas' addresses,
	// which are free ports and change from run to run.
	lbMinShare = 0.15
)

// TestLoadBalancingKeepsATraceOnOneReplica runs two Collectors of builder.yaml with
// loadbalancing.yaml in front of three in-test OTLP receivers standing for outagewatch replicas,
// and sends each trace's spans in three export requests split between the two Collectors, as
// an SDK exports spans when they end and a plain load balancer spreads them over Collectors. It
// checks that every span reached a replica exactly once, that all the spans of a trace reached
// the same replica, and that every replica got a fair share of the traces.
func TestLoadBalancingKeepsATraceOnOneReplica(t *testing.T) {
	otelcol := collectorBinary(t)

	replicas := make([]*backend, lbReplicas)
	hostnames := make([]string, lbReplicas)
	for i := range replicas {
		replicas[i] = startBackend(t)
		hostnames[i] = replicas[i].addr
	}
	// The Collector reads the whole value of ${env:OUTAGEWATCH_REPLICAS} as YAML: a flow list.
	// The second Collector has the list in the opposite order, which must not change the routing.
	list := "[" + strings.Join(hostnames, ", ") + "]"
	slices.Reverse(hostnames)
	reversed := "[" + strings.Join(hostnames, ", ") + "]"
	cols := []collector{
		startCollector(t, otelcol, "loadbalancing.yaml", "OUTAGEWATCH_REPLICAS="+list),
		startCollector(t, otelcol, "loadbalancing.yaml", "OUTAGEWATCH_REPLICAS="+reversed),
	}
	for _, col := range cols {
		require.Equal(t, float64(lbReplicas), sum(scrape(t, col.metrics), "otelcol_loadbalancer_num_backends", nil), "replicas the exporter resolved")
	}

	start := time.Now()
	sent := sendSplit(t, cols[0].grpc, cols[1].grpc)
	require.Len(t, sent, lbTraces*lbSpansInTrace)

	received := func() int {
		n := 0
		for _, r := range replicas {
			n += r.spanCount()
		}
		return n
	}
	require.Eventually(t, func() bool { return received() >= len(sent) }, 60*time.Second, 20*time.Millisecond,
		"the replicas did not get the %d spans sent", len(sent))
	// Each Collector has handed every span its receiver accepted to the per-replica exporters,
	// and no export to a replica failed: a retry, the one way a span could arrive twice, follows
	// only a failed export.
	accepted := 0.0
	for _, col := range cols {
		require.Eventually(t, func() bool {
			m := tryScrape(col.metrics)
			n := sum(m, "otelcol_receiver_accepted_spans", nil)
			return n > 0 && sum(m, "otelcol_exporter_sent_spans", map[string]string{"exporter": "load_balancing"}) == n
		}, 30*time.Second, 20*time.Millisecond, "the Collector at %s did not send every span it accepted", col.grpc)
		m := scrape(t, col.metrics)
		accepted += sum(m, "otelcol_receiver_accepted_spans", nil)
		require.Zero(t, sum(m, "otelcol_loadbalancer_backend_outcome", map[string]string{"success": "false"}), "failed exports to replicas by the Collector at %s", col.grpc)
		require.Zero(t, sum(m, "otelcol_exporter_send_failed_spans", nil), "spans the Collector at %s failed to send", col.grpc)
	}
	require.Equal(t, float64(len(sent)), accepted, "spans the Collectors accepted")
	elapsed := time.Since(start)
	require.Equal(t, len(sent), received(), "spans at the replicas")

	// Every span exactly once, and all the spans of a trace on one replica.
	seen := map[string]int{} // trace ID/span ID → receptions at the replicas
	on := map[string][]int{} // trace ID → the replicas that got spans of it
	traces := make([]int, lbReplicas)
	for i, r := range replicas {
		for key, n := range r.receptions() {
			seen[key] += n
		}
		for id := range r.traces() {
			on[id] = append(on[id], i)
			traces[i]++
		}
	}
	for key := range sent {
		require.Equal(t, 1, seen[key], "receptions of span %s", key)
	}
	require.Len(t, seen, len(sent), "distinct spans at the replicas (none that was not sent)")
	require.Len(t, on, lbTraces, "traces at the replicas")
	for id, rs := range on {
		require.Len(t, rs, 1, "replicas that got spans of trace %s", id)
	}

	t.Logf("%d traces of %d spans through 2 Collectors in %v: traces per replica %v", lbTraces, lbSpansInTrace, elapsed.Round(time.Millisecond), traces)
	for i, n := range traces {
		require.GreaterOrEqual(t, float64(n), lbMinShare*lbTraces, "traces at replica %d (%v)", i, traces)
	}
}

// TestLoadBalancingFilterIsConfigs checks that loadbalancing.yaml keeps the same spans as
// config.yaml: its filter/genai processor is config.yaml's, so that the two cannot drift apart.
func TestLoadBalancingFilterIsConfigs(t *testing.T) {
	t.Parallel()
	filter := func(file string) any {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var cfg struct {
			Processors map[string]any `yaml:"processors"`
		}
		require.NoError(t, yaml.Unmarshal(data, &cfg), file)
		f, ok := cfg.Processors["filter/genai"]
		require.True(t, ok, "%s has no filter/genai processor", file)
		return f
	}
	require.Equal(t, filter("config.yaml"), filter("loadbalancing.yaml"))
}

// sendSplit sends lbTraces traces of an LLM span and two HTTP attempts, with random trace IDs,
// in batches of lbPerRequest traces: the batch's LLM spans to the Collector at a, its first
// attempts to b, its second attempts to a again, each in a request of its own. It returns the
// spans sent as trace ID/span ID.
func sendSplit(t *testing.T, a, b string) map[string]bool {
	t.Helper()
	clients := map[string]ptraceotlp.GRPCClient{}
	for _, addr := range []string{a, b} {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		clients[addr] = ptraceotlp.NewGRPCClient(conn)
	}

	sent := map[string]bool{}
	for first := 0; first < lbTraces; first += lbPerRequest {
		parts := [lbSpansInTrace]ptrace.Traces{}
		spans := [lbSpansInTrace]ptrace.SpanSlice{}
		for i := range parts {
			parts[i] = ptrace.NewTraces()
			rs := parts[i].ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "chat-api")
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("loadbalancing_test")
			spans[i] = ss.Spans()
		}
		for i := first; i < first+lbPerRequest && i < lbTraces; i++ {
			for _, s := range appendRetriedCall(spans[0], spans[1], spans[2]) {
				sent[s.TraceID().String()+"/"+s.SpanID().String()] = true
			}
		}
		for i, part := range parts {
			addr := a
			if i == 1 {
				addr = b
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := clients[addr].Export(ctx, ptraceotlp.NewExportRequestFromTraces(part))
			cancel()
			require.NoError(t, err, "export to the Collector at %s", addr)
		}
	}
	return sent
}

// appendRetriedCall appends one trace with a random ID: an LLM call to Anthropic (GenAI semantic
// conventions) to llm, and its two HTTP attempts to api.anthropic.com, the first overloaded
// (529) to first and the retry (200) to retry. It returns the three spans.
func appendRetriedCall(llm, first, retry ptrace.SpanSlice) []ptrace.Span {
	var traceID pcommon.TraceID
	_, _ = rand.Read(traceID[:])
	end := time.Now()
	start := end.Add(-2 * time.Second)
	span := func(to ptrace.SpanSlice, parent pcommon.SpanID, name string, from, until time.Time) ptrace.Span {
		return appendSpan(to, traceID, parent, name, ptrace.SpanKindClient, from, until)
	}
	var root pcommon.SpanID
	_, _ = rand.Read(root[:]) // the parent is the application's server span, not sent here

	call := span(llm, root, "chat claude-sonnet-4-5", start, end)
	call.Attributes().PutStr("gen_ai.operation.name", "chat")
	call.Attributes().PutStr("gen_ai.provider.name", "anthropic")
	call.Attributes().PutStr("gen_ai.request.model", "claude-sonnet-4-5")
	call.Attributes().PutStr("gen_ai.response.model", "claude-sonnet-4-5-20250929")

	attempt := func(to ptrace.SpanSlice, from, until time.Time, status int64) ptrace.Span {
		s := span(to, call.SpanID(), "POST", from, until)
		s.Attributes().PutStr("http.request.method", "POST")
		s.Attributes().PutStr("server.address", "api.anthropic.com")
		s.Attributes().PutInt("server.port", 443)
		s.Attributes().PutStr("url.full", "https://api.anthropic.com/v1/messages")
		s.Attributes().PutInt("http.response.status_code", status)
		if status >= 500 {
			s.Attributes().PutStr("error.type", "529")
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		return s
	}
	overloaded := attempt(first, start.Add(5*time.Millisecond), start.Add(300*time.Millisecond), 529)
	retried := attempt(retry, start.Add(800*time.Millisecond), end.Add(-5*time.Millisecond), 200)
	return []ptrace.Span{call, overloaded, retried}
}
