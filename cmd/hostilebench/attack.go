package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"

	"github.com/outagewatch/outagewatch/internal/spangen"
	"github.com/outagewatch/outagewatch/internal/watcherproc"
)

// attackResult is what an attacker counted.
type attackResult struct {
	answers *tally
	// spansAccepted is the attacker's spans the daemon accepted (the name storm's).
	spansAccepted int64
}

// attack runs case name against a until ctx is done.
func attack(ctx context.Context, cfg config, name string, a watcherproc.Addrs) (attackResult, error) {
	res := attackResult{answers: newTally()}
	var err error
	switch name {
	case caseHTTPBombs:
		err = httpBombs(ctx, cfg, a, res.answers)
	case caseGRPCBombs:
		err = grpcBombs(ctx, cfg, a, res.answers)
	case caseDeepJSON:
		err = deepJSON(ctx, cfg, a, res.answers)
	case caseNameStorm:
		res.spansAccepted, err = nameStorm(ctx, cfg, a, res.answers)
	default:
		err = fmt.Errorf("unknown case %q", name)
	}
	return res, err
}

// gzipBomb returns a gzip stream of n zero bytes: 16 MiB deflates to about 16 KB.
func gzipBomb(n int) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(make([]byte, n)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// firstRequestWait bounds each attacker's first request, which outlives the attack's end.
const firstRequestWait = 30 * time.Second

// hammer runs workers goroutines each calling one in a loop, with no pause, until ctx is done:
// an attacker does not back off. Each worker's first request runs to its answer even when the
// attack ends first (under -race on a loaded machine a 16 MiB bomb can take longer than a short
// attack), so that every case is answered at least once per worker; later requests still in
// flight at the end are abandoned.
func hammer(ctx context.Context, workers int, one func(ctx context.Context)) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			first, cancel := context.WithTimeout(context.WithoutCancel(ctx), firstRequestWait)
			one(first)
			cancel()
			for ctx.Err() == nil {
				one(ctx)
			}
		})
	}
	wg.Wait()
}

// attackClient is an HTTP client with a connection per worker.
func attackClient(workers int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers,
		DisableCompression: true,
	}}
}

// post sends body to url and counts the answer's status code.
func post(ctx context.Context, client *http.Client, url, contentType, encoding string, body []byte, answers *tally) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		answers.add("request error")
		return
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			answers.add("transport error")
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	answers.add(strconv.Itoa(resp.StatusCode))
}

// httpBombs posts cfg.Bombs gzip bombs at once, over and over.
func httpBombs(ctx context.Context, cfg config, a watcherproc.Addrs, answers *tally) error {
	bomb, err := gzipBomb(cfg.BombBytes)
	if err != nil {
		return err
	}
	client := attackClient(cfg.Bombs)
	defer client.CloseIdleConnections()
	url := "http://" + a.OTLPHTTP + "/v1/traces"
	hammer(ctx, cfg.Bombs, func(ctx context.Context) {
		post(ctx, client, url, "application/x-protobuf", "gzip", bomb, answers)
	})
	return nil
}

// bombsPerConn is how many bombs share a gRPC connection (streams on one connection).
const bombsPerConn = 16

// grpcBombs sends cfg.Bombs gzip-compressed Export messages at once, over and over.
func grpcBombs(ctx context.Context, cfg config, a watcherproc.Addrs, answers *tally) error {
	bomb, err := gzipBomb(cfg.BombBytes)
	if err != nil {
		return err
	}
	registerPregzipped()
	conns := make([]*grpc.ClientConn, (cfg.Bombs+bombsPerConn-1)/bombsPerConn)
	for i := range conns {
		if conns[i], err = dialGRPC(a.OTLPGRPC); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	var next atomic.Int64
	hammer(ctx, cfg.Bombs, func(ctx context.Context) {
		cc := conns[int(next.Add(1))%len(conns)]
		at := exportGRPC(ctx, cc, bomb, grpc.UseCompressor(pregzipped{}.Name()))
		if ctx.Err() == nil || at.ok {
			answers.add(at.code)
		}
	})
	return nil
}

// deepJSONBody returns an OTLP/JSON request whose one span has an attribute nested levels deep
// (each level a kvlistValue holding the next), 49 bytes a level: 14.7 MB at 300,000.
func deepJSONBody(levels int) []byte {
	const (
		head  = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"deep","kind":3,"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":`
		open  = `{"kvlistValue":{"values":[{"key":"k","value":`
		leaf  = `{"stringValue":"x"}`
		close = `}]}}`
		tail  = `}]}]}]}]}`
	)
	var b bytes.Buffer
	b.Grow(len(head) + levels*(len(open)+len(close)) + len(leaf) + len(tail))
	b.WriteString(head)
	b.WriteString(strings.Repeat(open, levels))
	b.WriteString(leaf)
	b.WriteString(strings.Repeat(close, levels))
	b.WriteString(tail)
	return b.Bytes()
}

// deepJSON posts cfg.DeepBodies deep bodies at once, over and over.
func deepJSON(ctx context.Context, cfg config, a watcherproc.Addrs, answers *tally) error {
	body := deepJSONBody(cfg.DeepLevels)
	client := attackClient(cfg.DeepBodies)
	defer client.CloseIdleConnections()
	url := "http://" + a.OTLPHTTP + "/v1/traces"
	hammer(ctx, cfg.DeepBodies, func(ctx context.Context) {
		post(ctx, client, url, "application/json", "", body, answers)
	})
	return nil
}

// Name-storm pacing: stormWorkers connections each send a batch of stormBatch spans per tick.
const (
	stormWorkers = 4
	stormBatch   = 500
)

// nameStorm sends GenAI spans whose provider, host and model are new in every span, at
// cfg.StormRate spans per second over OTLP/gRPC, and returns how many the daemon accepted.
func nameStorm(ctx context.Context, cfg config, a watcherproc.Addrs, answers *tally) (int64, error) {
	interval := time.Duration(float64(time.Second) * stormBatch * stormWorkers / float64(cfg.StormRate))
	var names, accepted atomic.Int64
	var wg sync.WaitGroup
	for w := range stormWorkers {
		cc, err := dialGRPC(a.OTLPGRPC)
		if err != nil {
			return 0, err
		}
		defer cc.Close()
		wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for i := int64(0); ; i++ {
				body := stormSpans(names.Add(stormBatch)-stormBatch, int64(w)<<32|i)
				at := exportGRPC(ctx, cc, body)
				if ctx.Err() != nil && !at.ok {
					return
				}
				answers.add(at.code)
				if at.ok {
					accepted.Add(stormBatch - at.rejected)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Wait()
	return accepted.Load(), nil
}

// stormSpans returns stormBatch semantic-convention GenAI client spans numbered from first,
// each naming a provider, host and model never seen before.
func stormSpans(first, seed int64) []byte {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(stormBatch)
	now := time.Now()
	var trace pcommon.TraceID
	copy(trace[:], strconv.FormatInt(seed, 16)+"-storm-trace")
	for i := range int64(stormBatch) {
		n := strconv.FormatInt(first+i, 36)
		s := spans.AppendEmpty()
		s.SetTraceID(trace)
		var id pcommon.SpanID
		copy(id[:], n+"-"+strconv.FormatInt(seed, 36))
		id[7] |= 1
		s.SetSpanID(id)
		s.SetName("chat storm-model-" + n)
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
		at := s.Attributes()
		at.PutStr("gen_ai.operation.name", "chat")
		at.PutStr("gen_ai.provider.name", "storm-provider-"+n)
		at.PutStr("gen_ai.request.model", "storm-model-"+n)
		at.PutStr("gen_ai.response.model", "storm-model-"+n)
		at.PutStr("server.address", "api.storm-"+n+".example")
		at.PutInt("server.port", 443)
		at.PutInt("gen_ai.usage.input_tokens", 10)
		at.PutInt("gen_ai.usage.output_tokens", 20)
	}
	return spangen.MarshalProto(td)
}
