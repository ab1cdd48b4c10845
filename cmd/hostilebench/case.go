package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/internal/watcherproc"
)

// result is one measured case.
type result struct {
	name    string
	ceiling int64 // bytes
	// peakRSS is the highest of the sampled VmRSS and the kernel's VmHWM, in bytes.
	peakRSS int64
	samples int
	attack  attackResult
	legit   []*exporter // HTTP, then gRPC
	// daemonRequests is outagewatch_ingest_requests_total by "<protocol> <result>".
	daemonRequests map[string]int64
	daemonAccepted int64 // outagewatch_ingest_spans_accepted_total
	daemonShed     int64 // outagewatch_memory_shed_total
}

// legitSent and legitAccepted sum the legitimate spans over both exporters.
func (r result) legitSent() (n int64) {
	for _, e := range r.legit {
		n += e.sent.Load()
	}
	return n
}

func (r result) legitAccepted() (n int64) {
	for _, e := range r.legit {
		n += e.accepted.Load()
	}
	return n
}

// share is the share of legitimate spans accepted; 0 when none was sent.
func (r result) share() float64 {
	if sent := r.legitSent(); sent > 0 {
		return float64(r.legitAccepted()) / float64(sent)
	}
	return 0
}

func (r result) rssOK() bool             { return r.peakRSS < r.ceiling }
func (r result) legitOK(cfg config) bool { return r.legitSent() > 0 && r.share() >= cfg.MinAccepted }
func (r result) pass(cfg config) bool    { return r.rssOK() && r.legitOK(cfg) }

// runCase starts a fresh watcher, runs the attack name and the legitimate traffic side by side
// for cfg.Duration, waits for the legitimate exporters to deliver or give up, and measures.
func runCase(ctx context.Context, cfg config, name, bin, tmp string) (res result, err error) {
	dir, err := os.MkdirTemp(tmp, name)
	if err != nil {
		return res, err
	}
	// Without GOMEMLIMIT and GOGC in its environment, the watcher's ceiling is memory.limit's alone.
	w, err := watcherproc.Start(ctx, bin, dir, watcherConfig(cfg.MemoryLimit), watcherproc.CleanEnv("GOMEMLIMIT", "GOGC"))
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, w.Stop()) }()
	res = result{name: name, ceiling: cfg.MemoryLimit}

	sampler := &rssSampler{read: w.RSS}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { sampler.run(sampleCtx) })
	defer func() { stopSampling(); sampling.Wait() }()

	legit, closeLegit, err := newExporters(cfg, w.Addrs())
	if err != nil {
		return res, err
	}
	defer closeLegit()
	res.legit = legit

	attackCtx, stopAttack := context.WithTimeout(ctx, cfg.Duration)
	defer stopAttack()
	var attacking sync.WaitGroup
	var attackErr error
	attacking.Go(func() { res.attack, attackErr = attack(attackCtx, cfg, name, w.Addrs()) })
	generate(attackCtx, ctx, cfg, legit)
	attacking.Wait()
	for _, e := range legit {
		e.wait()
	}
	if err := errors.Join(attackErr, ctx.Err(), w.Exited()); err != nil {
		return res, err
	}
	return res, measure(ctx, w, sampler, &res)
}

// measure reads the daemon's metrics and peak RSS into res.
func measure(ctx context.Context, w *watcherproc.Process, sampler *rssSampler, res *result) error {
	text, err := metrics(ctx, w)
	if err != nil {
		return err
	}
	res.daemonRequests = requestsByResult(text)
	res.daemonAccepted = sum(text, metricSpansAccepted)
	res.daemonShed = sum(text, metricShed)
	// Read before stopping: VmHWM goes with the process.
	hwm, err := w.PeakRSS()
	if err != nil {
		return err
	}
	rss, n := sampler.result()
	res.peakRSS, res.samples = max(hwm, rss), n
	return nil
}

// newExporters returns the legitimate OTLP/HTTP and OTLP/gRPC exporters of a case and a func
// that closes their connections.
func newExporters(cfg config, a watcherproc.Addrs) ([]*exporter, func(), error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	cc, err := dialGRPC(a.OTLPGRPC)
	if err != nil {
		return nil, nil, err
	}
	exps := []*exporter{
		{protocol: "http", send: httpSend(client, "http://"+a.OTLPHTTP+"/v1/traces"), retryFor: cfg.RetryFor, answers: newTally()},
		{protocol: "grpc", send: grpcSend(cc), retryFor: cfg.RetryFor, answers: newTally()},
	}
	return exps, func() { client.CloseIdleConnections(); _ = cc.Close() }, nil
}

// generate hands the exporters a batch of cfg.LegitBatch spans in turn at cfg.LegitRate spans
// per second until ctx is done, as an application's batch span processors would. The batches
// are sent under sendCtx, which outlives ctx: what is still being retried when the attack ends
// is delivered after it.
func generate(ctx, sendCtx context.Context, cfg config, exps []*exporter) {
	interval := time.Duration(float64(time.Second) * float64(cfg.LegitBatch) / float64(cfg.LegitRate))
	t := time.NewTicker(interval)
	defer t.Stop()
	for seed := int64(1); ; seed++ {
		e := exps[int(seed)%len(exps)]
		e.export(sendCtx, legitBatch(cfg.LegitBatch, seed, time.Now()), int64(cfg.LegitBatch))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
