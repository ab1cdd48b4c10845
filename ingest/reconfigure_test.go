package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

// gatewayHost is an endpoint no built-in table knows.
const gatewayHost = "llm-gateway.corp.internal"

// gatewayCalls returns n LLM-call spans that name no provider, only their server's address,
// numbered from first.
func gatewayCalls(n, first int, now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		id := uint64(first + i + 1)
		s := ss.AppendEmpty()
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		for b := range 8 {
			tid[b], sid[b] = byte(id>>(8*b)), byte(id>>(8*b))
		}
		tid[15] = 1
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName("chat gpt-5")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.request.model", "gpt-5")
		s.Attributes().PutStr("server.address", gatewayHost)
		s.Attributes().PutStr("gen_ai.response.finish_reasons", "stop")
	}
	return td
}

// callSink keeps the calls a pipeline delivers.
type callSink struct {
	mu    sync.Mutex
	calls []detectors.Call
}

func (c *callSink) ConsumeCalls(calls []detectors.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, calls...)
}

// take returns the calls delivered so far, by provider, and forgets them.
func (c *callSink) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, call := range c.calls {
		m[call.Provider]++
	}
	c.calls = c.calls[:0]
	return m
}

// runPipeline starts a pipeline (in a synctest bubble) and returns it with its sink and a stop
// function that drains it.
func runPipeline(t *testing.T, cfg Config) (*Pipeline, *callSink, func()) {
	t.Helper()
	sink := &callSink{}
	p, err := NewPipeline(cfg, sink, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	return p, sink, func() { cancel(); <-done }
}

// settle lets the pipeline's waits end and its goroutine deliver.
func settle(cfg Config) {
	time.Sleep(cfg.AttemptWait + time.Second)
	synctest.Wait()
}

// TestSetProviderHostsAttributesTheNewHosts: LLM spans that name only their server, a host no
// table knows, are the unknown provider's; after SetProviderHosts maps the host to anthropic
// they are anthropic's, on the fast path and on pdata's; after a change of mapping, the new
// provider's; with the host removed, unknown again.
func TestSetProviderHostsAttributesTheNewHosts(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast_path=%v", fast), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.FastPath = fast
				p, sink, stop := runPipeline(t, cfg)
				defer stop()
				n := 0
				send := func(want map[string]int) {
					t.Helper()
					_, err := p.SubmitProto("http", spangen.MarshalProto(gatewayCalls(5, n, time.Now())))
					require.NoError(t, err)
					_, err = p.Submit("grpc", gatewayCalls(5, n+5, time.Now()))
					require.NoError(t, err)
					n += 10
					settle(cfg)
					require.Equal(t, want, sink.take())
				}

				send(map[string]int{detectors.UnknownProvider: 10})
				require.NoError(t, p.SetProviderHosts(map[string]string{gatewayHost: "Anthropic"}))
				send(map[string]int{"anthropic": 10})
				require.NoError(t, p.SetProviderHosts(map[string]string{gatewayHost: "openai", "other.corp": "mistral"}))
				send(map[string]int{"openai": 10})
				require.NoError(t, p.SetProviderHosts(nil))
				send(map[string]int{detectors.UnknownProvider: 10})
			})
		})
	}
}

// TestSetProviderHostsRefusesAnInvalidTable: an empty host or provider is refused as
// Config.Validate refuses it, and the table in force stays.
func TestSetProviderHostsRefusesAnInvalidTable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.ProviderHosts = map[string]string{gatewayHost: "anthropic"}
		p, sink, stop := runPipeline(t, cfg)
		defer stop()
		err := p.SetProviderHosts(map[string]string{gatewayHost: "openai", " ": "mistral"})
		require.ErrorContains(t, err, "ingest.provider_hosts")
		err = p.SetProviderHosts(map[string]string{gatewayHost: ""})
		require.ErrorContains(t, err, "ingest.provider_hosts")
		_, err = p.Submit("grpc", gatewayCalls(3, 0, time.Now()))
		require.NoError(t, err)
		settle(cfg)
		require.Equal(t, map[string]int{"anthropic": 3}, sink.take())
	})
}

// TestSetProviderHostsWhileIngesting: receivers submit on both paths while the table is
// swapped back and forth (run with -race): every span is read once, with one table or the
// other, and the last table is in force once the swaps end.
func TestSetProviderHostsWhileIngesting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.QueueSize = 4096
		p, sink, stop := runPipeline(t, cfg)
		defer stop()
		const senders, requests, spans = 4, 50, 4
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for r := range requests {
					first := (s*requests + r) * spans
					var err error
					if r%2 == 0 {
						_, err = p.SubmitProto("http", spangen.MarshalProto(gatewayCalls(spans, first, time.Now())))
					} else {
						_, err = p.Submit("grpc", gatewayCalls(spans, first, time.Now()))
					}
					require.NoError(t, err)
					time.Sleep(time.Millisecond)
				}
			})
		}
		wg.Go(func() {
			for i := range 100 {
				providers := []string{"anthropic", "openai"}
				require.NoError(t, p.SetProviderHosts(map[string]string{gatewayHost: providers[i%2]}))
				time.Sleep(500 * time.Microsecond)
			}
		})
		wg.Wait()
		settle(cfg)
		got := sink.take()
		total := 0
		for provider, n := range got {
			require.Contains(t, []string{"anthropic", "openai", detectors.UnknownProvider}, provider)
			total += n
		}
		require.Equal(t, senders*requests*spans, total, "every span is read once")
		require.Positive(t, got["anthropic"])
		require.Positive(t, got["openai"])

		_, err := p.Submit("grpc", gatewayCalls(2, 1<<20, time.Now()))
		require.NoError(t, err)
		settle(cfg)
		require.Equal(t, map[string]int{"openai": 2}, sink.take(), "the last table is in force")
	})
}
