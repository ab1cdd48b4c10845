package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/detectors"
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
var ErrQueueFull = errors.New("ingest queue is full")

// tickInterval is how often the pipeline looks for attempt groups whose wait is over.
const tickInterval = 200 * time.Millisecond

// Pipeline is the hand-off between the OTLP receivers and the consumer. Receivers call Submit
// concurrently: each request's spans are read on the receiver's goroutine, then queued; Run
// assembles the queued records into calls on a single goroutine and hands them on.
type Pipeline struct {
	logger    *slog.Logger
	extractor extractor
	asm       *assembler
	consumer  Consumer
	fastPath  bool
	queue     chan []record
	now       func() time.Time
	metrics   *metrics
	// pendingGroups mirrors the assembler's pending count for the metrics goroutine.
	pendingGroups atomic.Int64
	// queuedRecords counts the records in the queue, bounded by maxQueuedRecords.
	queuedRecords atomic.Int64
}

// maxQueuedRecords bounds the records waiting in the hand-off queue (about 23 MB; a record is
// some 350 bytes), whatever the size of the requests: the queue's length alone, in requests,
// let 1024 requests of 512 LLM spans hold 180 MB. A request is refused when it would take the
// queue past the bound, unless the queue is empty.
const maxQueuedRecords = 1 << 16

// PipelineOptions are the optional dependencies of a Pipeline.
type PipelineOptions struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
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
	p := &Pipeline{
		logger:    logger.With("component", "ingest"),
		extractor: extractor{hosts: newHostIndex(cfg.ProviderHosts)},
		asm:       newAssembler(cfg),
		consumer:  consumer,
		fastPath:  cfg.FastPath,
		queue:     make(chan []record, cfg.QueueSize),
		now:       opts.Now,
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.metrics = newMetrics(reg, p)
	return p, nil
}

// submitResult is what a receiver tells the exporter about one request.
type submitResult struct {
	spans     int
	rejected  int
	rejectMsg string
}

// Submit reads the LLM calls and provider attempts of td and queues them. It never blocks: when
// the queue is full it returns ErrQueueFull and nothing of td is kept. It is safe for
// concurrent use, and td is not retained.
func (p *Pipeline) Submit(protocol string, td ptrace.Traces) (submitResult, error) {
	return p.submit(protocol, p.extractor.extract(td))
}

// SubmitProto is Submit for the protobuf bytes of an ExportTraceServiceRequest; body is not
// retained. It returns an error, having queued nothing, when the bytes do not decode. The bytes
// are read by the single-pass fast path (fastpath.go), which accepts exactly what pdata accepts
// and makes the same records, or by pdata when ingest.fast_path is off.
func (p *Pipeline) SubmitProto(protocol string, body []byte) (submitResult, error) {
	if !p.fastPath {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return submitResult{}, err
		}
		return p.Submit(protocol, req.Traces())
	}
	var res batchResult
	if err := p.extractor.fastExtract(body, &res); err != nil {
		return submitResult{}, err
	}
	return p.submit(protocol, res)
}

func (p *Pipeline) submit(protocol string, res batchResult) (submitResult, error) {
	p.metrics.spansReceived.WithLabelValues(protocol).Add(float64(res.spans))
	out := submitResult{spans: res.spans, rejected: res.rejected, rejectMsg: res.rejectMsg}
	if n := int64(len(res.records)); n > 0 {
		queued := p.queuedRecords.Add(n)
		full := queued > maxQueuedRecords && queued > n
		if !full {
			select {
			case p.queue <- res.records:
			default:
				full = true
			}
		}
		if full {
			p.queuedRecords.Add(-n)
			putRecords(res.records)
			p.metrics.spansRefused.WithLabelValues(protocol).Add(float64(res.spans))
			return out, ErrQueueFull
		}
	} else {
		putRecords(res.records)
	}
	p.metrics.spansRejected.Add(float64(res.rejected))
	p.metrics.spansAccepted.WithLabelValues(protocol).Add(float64(res.spans - res.rejected))
	return out, nil
}

// Run assembles queued records into calls until ctx is cancelled; then it drains the queue,
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
				default:
					calls = p.asm.flush(calls[:0])
					p.deliver(calls)
					p.logger.Info("ingest pipeline drained")
					return nil
				}
			}
		case recs := <-p.queue:
			calls = p.process(recs, calls[:0])
			p.deliver(calls)
		case <-ticker.C:
			calls = p.asm.tick(p.now(), calls[:0])
			p.deliver(calls)
		}
	}
}

func (p *Pipeline) process(recs []record, out []detectors.Call) []detectors.Call {
	attempts := 0
	for i := range recs {
		if recs[i].attempt {
			attempts++
		}
	}
	p.metrics.interesting.WithLabelValues("llm").Add(float64(len(recs) - attempts))
	p.metrics.interesting.WithLabelValues("attempt").Add(float64(attempts))
	before := p.asm.stats
	out = p.asm.add(p.now(), recs, out)
	p.queuedRecords.Add(-int64(len(recs)))
	putRecords(recs)
	after := p.asm.stats
	p.metrics.interesting.WithLabelValues("wrapper").Add(float64(after.wrappers - before.wrappers))
	p.metrics.lateAttempts.Add(float64(after.lateAttempts - before.lateAttempts))
	p.metrics.folded.WithLabelValues("provider").Add(float64(after.foldedProv - before.foldedProv))
	p.metrics.folded.WithLabelValues("model").Add(float64(after.foldedModels - before.foldedModels))
	p.metrics.evicted.Add(float64(after.evicted - before.evicted))
	return out
}

func (p *Pipeline) deliver(calls []detectors.Call) {
	p.pendingGroups.Store(int64(len(p.asm.pending)))
	if len(calls) == 0 {
		return
	}
	for i := range calls {
		p.metrics.countCall(&calls[i])
	}
	p.consumer.ConsumeCalls(calls)
}

// QueueDepth returns the number of requests waiting in the hand-off queue.
func (p *Pipeline) QueueDepth() int { return len(p.queue) }
