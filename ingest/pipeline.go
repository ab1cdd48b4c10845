package ingest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/ingest/receiver"
	"github.com/outagewatch/outagewatch/ingest/wire"
)

// Consumer receives the calls ingest produces.
//
// ConsumeCalls is called from one goroutine at a time, in the order the calls were completed. The
// slice is reused after the call returns: keep the Call values, not the slice. It must not block
// for long: ingest's hand-off queue fills while it runs.
type Consumer interface {
	ConsumeCalls(calls []detectors.Call)
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(calls []detectors.Call)

// ConsumeCalls calls f(calls).
func (f ConsumerFunc) ConsumeCalls(calls []detectors.Call) { f(calls) }

// ErrQueueFull is returned by Submit when the hand-off queue is full: the exporter must retry
// later (HTTP 503 with Retry-After, gRPC Unavailable).
var ErrQueueFull = receiver.ErrQueueFull

// tickInterval is how often the pipeline looks for attempt groups whose wait is over.
const tickInterval = 200 * time.Millisecond

// Pipeline is the hand-off between the OTLP receivers and the consumer. Receivers call Submit
// concurrently: each request's spans are read on the receiver's goroutine, then queued; Run
// assembles the queued records into calls on a single goroutine and hands them on.
type Pipeline struct {
	logger *slog.Logger
	// norm is the decoder's normaliser, kept for SetProviderHosts; providerHosts is the
	// configured table in force (ProviderHosts).
	norm          *normalize.Normalizer
	providerHosts atomic.Pointer[map[string]string]
	decoder       *wire.Decoder
	asm           *assemble.Assembler
	hosts         *hosts.Map
	// hostStats are the assembler's counters when countHosts last read them.
	hostStats assemble.Stats
	consumer  Consumer
	fastPath  bool
	queue     chan []normalize.Record
	now       func() time.Time
	metrics   *metrics
	// recv are the receivers' metrics, registered with the pipeline's.
	recv *receiver.Metrics
	// pendingGroups mirrors the assembler's pending count for the metrics goroutine.
	pendingGroups atomic.Int64
	// queuedRecords counts the records in the queue, bounded by maxQueuedRecords.
	queuedRecords atomic.Int64
	// fresh tracks what arrived lately (Freshness).
	fresh *freshness
	// logCalls and metricCalls map logs and metrics to calls (PipelineOptions); ready is the
	// second queue, of their calls, bounded by queuedCalls as queue is by queuedRecords; the
	// assembler caps their series with the span-made calls' (signals.go). spanCalls is told of
	// the span-made calls (PipelineOptions.SpanCalls).
	logCalls    func(plog.Logs, []detectors.Call) []detectors.Call
	metricCalls func(pmetric.Metrics, []detectors.Call) []detectors.Call
	spanCalls   func([]detectors.Call)
	traced      tracedServices
	ready       chan readyCalls
	queuedCalls atomic.Int64
}

// maxQueuedRecords bounds the records waiting in the hand-off queue (about 23 MB; a record is
// some 350 bytes), whatever the size of the requests: the queue's length alone, in requests,
// let 1024 requests of 512 LLM spans hold 180 MB. A request is refused when it would take the
// queue past the bound, unless the queue is empty.
const maxQueuedRecords = 1 << 16

// PipelineOptions are the optional dependencies of a Pipeline.
type PipelineOptions struct {
	// Now is the clock; time.Now when nil. The receivers' goroutines call it too (once per
	// request), so it must be safe for concurrent use.
	Now func() time.Time
	// Hosts is where the hosts learned are kept (to be saved with the baselines); a new Map
	// when nil.
	Hosts *hosts.Map
	// LogCalls maps log records to calls (coding agents' events, ingest/agentlogs); nil: logs
	// are accepted and ignored. It is called on the receivers' goroutines, concurrently, and
	// must not keep ld; it appends to out and returns it.
	LogCalls func(ld plog.Logs, out []detectors.Call) []detectors.Call
	// MetricCalls maps GenAI metrics to calls (ingest/genaimetrics); nil: metrics are accepted
	// and ignored. Called as LogCalls is.
	MetricCalls func(md pmetric.Metrics, out []detectors.Call) []detectors.Call
	// SpanCalls is told of every batch of span-made calls, on the pipeline's goroutine, before
	// the consumer: the GenAI metrics' mapper skips the metrics of a service that sends spans
	// (genaimetrics.Converter.SpanSeen), so that no call is counted twice. It must not keep
	// the slice.
	SpanCalls func(calls []detectors.Call)
}

// NewPipeline validates cfg and builds a pipeline that hands calls to consumer. It starts
// nothing: call Run.
func NewPipeline(cfg Config, consumer Consumer, reg prometheus.Registerer, logger *slog.Logger, opts PipelineOptions) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if consumer == nil {
		return nil, errors.New("ingest: nil consumer")
	}
	learned := opts.Hosts
	if learned == nil {
		learned = hosts.New()
	}
	norm := normalize.New(cfg.ProviderHosts)
	p := &Pipeline{
		logger:   logger.With("component", "ingest"),
		norm:     norm,
		decoder:  wire.New(norm),
		asm:      assemble.New(assembleConfig(cfg, learned)),
		hosts:    learned,
		consumer: consumer,
		fastPath: cfg.FastPath,
		queue:    make(chan []normalize.Record, cfg.QueueSize),
		now:      opts.Now,
		// The calls of logs and metrics: a queue of their own, as long, and the same caps.
		logCalls:    opts.LogCalls,
		metricCalls: opts.MetricCalls,
		spanCalls:   opts.SpanCalls,
		ready:       make(chan readyCalls, cfg.QueueSize),
	}
	if p.now == nil {
		p.now = time.Now
	}
	configured := maps.Clone(cfg.ProviderHosts)
	p.providerHosts.Store(&configured)
	p.fresh = newFreshness(p.now(), cfg.MaxProviders)
	p.metrics = newMetrics(reg, p)
	p.recv = receiver.NewMetrics(reg)
	return p, nil
}

// assembleConfig is the assembler's part of cfg.
func assembleConfig(cfg Config, learned *hosts.Map) assemble.Config {
	return assemble.Config{Wait: cfg.AttemptWait, MaxProviders: cfg.MaxProviders, MaxModels: cfg.MaxModelsPerProvider, Hosts: learned}
}

// Hosts returns the hosts the pipeline learned to serve a provider: for the API to list, and to
// be saved with the baselines.
func (p *Pipeline) Hosts() *hosts.Map { return p.hosts }

// Submit reads the LLM calls and provider attempts of td and queues them. It never blocks: when
// the queue is full it returns ErrQueueFull and nothing of td is kept. It is safe for
// concurrent use, and td is not retained.
func (p *Pipeline) Submit(protocol string, td ptrace.Traces) (receiver.Result, error) {
	return p.submit(protocol, p.decoder.DecodeTraces(td))
}

// SubmitProto is Submit for the protobuf bytes of an ExportTraceServiceRequest; body is not
// retained. It returns an error, having queued nothing, when the bytes do not decode. The bytes
// are read by the single-pass fast path (ingest/wire), which accepts exactly what pdata accepts
// and makes the same records, or by pdata when ingest.fast_path is off.
func (p *Pipeline) SubmitProto(protocol string, body []byte) (receiver.Result, error) {
	if !p.fastPath {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return receiver.Result{}, err
		}
		return p.Submit(protocol, req.Traces())
	}
	var res wire.Batch
	if err := p.decoder.DecodeProto(body, &res); err != nil {
		return receiver.Result{}, err
	}
	return p.submit(protocol, res)
}

func (p *Pipeline) submit(protocol string, res wire.Batch) (receiver.Result, error) {
	p.metrics.spansReceived.WithLabelValues(protocol).Add(float64(res.Spans))
	if res.Spans > 0 {
		p.fresh.span(p.now())
	}
	out := receiver.Result{Spans: res.Spans, Rejected: res.Rejected, RejectMsg: res.RejectMsg}
	if n := int64(len(res.Records)); n > 0 {
		queued := p.queuedRecords.Add(n)
		full := queued > maxQueuedRecords && queued > n
		if !full {
			select {
			case p.queue <- res.Records:
			default:
				full = true
			}
		}
		if full {
			p.queuedRecords.Add(-n)
			p.decoder.Release(res.Records)
			p.metrics.spansRefused.WithLabelValues(protocol).Add(float64(res.Spans))
			return out, ErrQueueFull
		}
	} else {
		p.decoder.Release(res.Records)
	}
	p.metrics.spansRejected.Add(float64(res.Rejected))
	p.metrics.spansAccepted.WithLabelValues(protocol).Add(float64(res.Spans - res.Rejected))
	return out, nil
}

// Run assembles queued records into calls, and hands on the calls of logs and metrics (the
// second queue), until ctx is cancelled; then it drains both queues,
// counts the attempts still waiting for their LLM span, and returns nil. Stop the receivers
// before cancelling ctx, so that nothing is submitted after the drain.
func (p *Pipeline) Run(ctx context.Context) error {
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	var calls []detectors.Call
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case recs := <-p.queue:
					calls = p.process(recs, calls[:0])
					p.deliver(calls)
				case r := <-p.ready:
					p.deliverReady(r)
				default:
					calls = p.asm.Flush(calls[:0])
					p.deliver(calls)
					p.logger.Info("ingest pipeline drained")
					return nil
				}
			}
		case recs := <-p.queue:
			calls = p.process(recs, calls[:0])
			p.deliver(calls)
		case r := <-p.ready:
			p.deliverReady(r)
		case <-ticker.C:
			calls = p.asm.Tick(p.now(), calls[:0])
			p.deliver(calls)
		}
	}
}

func (p *Pipeline) process(recs []normalize.Record, out []detectors.Call) []detectors.Call {
	attempts := 0
	for i := range recs {
		if recs[i].Attempt {
			attempts++
		}
	}
	p.metrics.interesting.WithLabelValues("llm").Add(float64(len(recs) - attempts))
	p.metrics.interesting.WithLabelValues("attempt").Add(float64(attempts))
	before := p.asm.Stats()
	out = p.asm.Add(p.now(), recs, out)
	p.queuedRecords.Add(-int64(len(recs)))
	p.decoder.Release(recs)
	after := p.asm.Stats()
	p.metrics.interesting.WithLabelValues("wrapper").Add(float64(after.Wrappers - before.Wrappers))
	p.metrics.lateAttempts.Add(float64(after.LateAttempts - before.LateAttempts))
	p.metrics.folded.WithLabelValues("provider").Add(float64(after.FoldedProv - before.FoldedProv))
	p.metrics.folded.WithLabelValues("model").Add(float64(after.FoldedModels - before.FoldedModels))
	p.metrics.evicted.Add(float64(after.Evicted - before.Evicted))
	return out
}

// countHosts counts what became of the attempts to unknown hosts since it last did: attempts
// are attributed when their wait ends (Tick), as well as when records arrive.
func (p *Pipeline) countHosts() {
	before, after := p.hostStats, p.asm.Stats()
	p.hostStats = after
	p.metrics.learnedHosts.WithLabelValues("learned").Add(float64(after.Learned - before.Learned))
	p.metrics.learnedHosts.WithLabelValues("attributed").Add(float64(after.Attributed - before.Attributed))
	p.metrics.learnedHosts.WithLabelValues("unattributed").Add(float64(after.Unattributed - before.Unattributed))
}

// deliver counts span-made calls and hands them to the consumer.
func (p *Pipeline) deliver(calls []detectors.Call) { p.deliverFrom(sourceSpans, calls) }

// deliverFrom counts calls of source and hands them to the consumer.
func (p *Pipeline) deliverFrom(source string, calls []detectors.Call) {
	p.countHosts()
	p.pendingGroups.Store(int64(p.asm.Pending()))
	if len(calls) == 0 {
		return
	}
	for i := range calls {
		p.metrics.countCall(&calls[i])
	}
	if source == sourceSpans {
		p.traced.saw(calls)
		if p.spanCalls != nil {
			p.spanCalls(calls)
		}
	}
	p.metrics.callsBySource.WithLabelValues(source).Add(float64(len(calls)))
	p.fresh.calls(p.now(), calls)
	p.consumer.ConsumeCalls(calls)
}

// QueueDepth returns the number of requests waiting in the hand-off queue.
func (p *Pipeline) QueueDepth() int { return len(p.queue) }
