package assemble

import (
	"cmp"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// Bounds on the Assembler's memory, whatever the input.
const (
	maxPendingGroups  = 100_000 // attempt groups waiting for their LLM parent
	maxRecentSpans    = 200_000 // LLM spans (and parents) remembered per generation, to drop late attempts and outer wrappers
	maxTrackedKeys    = 10_000  // (service, convention) and service statistics
	coverageThreshold = 100     // streams seen before a missing finish reason may be excused
	parentedMinimum   = 5       // successful attempts with their LLM span before "normally parented" is believed
	maxOrphanRun      = 1000    // successful attempts in a row without their LLM span before the belief is dropped
)

// Assembler turns the records of successive requests into calls: it folds HTTP attempts into
// their LLM span, keeps only the innermost LLM span of a nest, waits a bounded time for LLM
// spans that may never come, and caps the providers and models tracked. It is not safe for
// concurrent use: the pipeline runs it on one goroutine.
type Assembler struct {
	wait         time.Duration
	maxProviders int
	maxModels    int
	hosts        *hosts.Map

	pending map[normalize.SpanKey]*attemptGroup
	// pendingOrder lists pending groups in arrival order, for expiry.
	pendingOrder ring[pendingEntry]
	// recent remembers recently emitted LLM spans (late attempts to them are dropped) and the
	// parents of recently seen LLM spans (a late outer wrapper is dropped).
	recent recentSet

	coverage map[coverageKey]*coverageStat
	parented map[parentKey]*parentStat
	// retries holds the calls of Vercel attempt spans (Record.Retry) until their outer span
	// comes (retries.go); retryOrder lists them in arrival order, for expiry.
	retries    map[normalize.SpanKey]*retryGroup
	retryOrder ring[pendingEntry]
	models     map[string]map[string]struct{}

	// lastSeries is the (provider, model) capSeries last let through.
	lastSeries [2]string

	stats Stats
	// order is scratch space for Add.
	order []endIndex
}

// endIndex sorts a batch's records by end time, then by position.
type endIndex struct {
	end int64
	i   int32
}

type pendingEntry struct {
	key      normalize.SpanKey
	deadline time.Time
}

type attemptGroup struct {
	attempts []normalize.Record
}

type coverageKey struct{ service, convention string }

// coverageStat counts successful streams with and without a finish reason.
type coverageStat struct{ with, without uint32 }

// Stats are the Assembler's counters, since it was made; the pipeline exports them as metrics.
type Stats struct {
	Wrappers     uint64 // outer LLM spans not counted
	LateAttempts uint64 // attempts that arrived after their LLM span was emitted
	FoldedModels uint64 // calls whose model was folded into "other"
	FoldedProv   uint64 // calls whose provider was folded into "other"
	Evicted      uint64 // attempt groups emitted early because too many were pending
	Learned      uint64 // attempts to unknown hosts that taught a host's provider (ingest/hosts)
	Attributed   uint64 // calls attributed from learned hosts: attempts whose LLM span never came, LLM spans naming no provider
	Unattributed uint64 // calls of attempts to unknown hosts dropped: nothing learned names their provider
}

// Config sets the Assembler's wait and caps; ingest.Config documents them.
type Config struct {
	// Wait is how long attempts wait for their LLM span (ingest.attempt_wait); > 0.
	Wait time.Duration
	// MaxProviders and MaxModels cap the series; the rest fold into "other". Both >= 1.
	MaxProviders int
	MaxModels    int
	// Hosts learns and attributes the hosts of attempts that go to no known provider's host;
	// nil drops those attempts unless their LLM span comes.
	Hosts *hosts.Map
}

// New returns an empty Assembler; cfg must be valid (ingest.Config.Validate checks it).
func New(cfg Config) *Assembler {
	return &Assembler{
		wait:         cfg.Wait,
		maxProviders: cfg.MaxProviders,
		maxModels:    cfg.MaxModels,
		hosts:        cfg.Hosts,
		pending:      make(map[normalize.SpanKey]*attemptGroup),
		recent:       newRecentSet(2 * cfg.Wait),
		coverage:     make(map[coverageKey]*coverageStat),
		parented:     make(map[parentKey]*parentStat),
		retries:      make(map[normalize.SpanKey]*retryGroup),
		models:       make(map[string]map[string]struct{}),
	}
}

// Stats returns the counters.
func (a *Assembler) Stats() Stats { return a.stats }

// Pending returns the number of attempt groups waiting for their LLM span, and of Vercel
// attempts waiting for their call's span.
func (a *Assembler) Pending() int { return len(a.pending) + len(a.retries) }

// Add takes one request's records at time now and appends the calls they complete to out. It
// does not keep records: the caller may reuse them once it returns.
func (a *Assembler) Add(now time.Time, records []normalize.Record, out []detectors.Call) []detectors.Call {
	// Children end before their parents, so a batch is processed in end order (through an
	// index, records are large); the parents of every LLM span of the batch are noted first, so
	// that an outer wrapper is recognised even when it precedes its child in the batch.
	order := a.order[:0]
	sorted := true
	for i := range records {
		order = append(order, endIndex{records[i].End, int32(i)})
		sorted = sorted && (i == 0 || records[i-1].End <= records[i].End)
	}
	if !sorted {
		slices.SortFunc(order, func(x, y endIndex) int {
			return cmp.Or(cmp.Compare(x.end, y.end), cmp.Compare(x.i, y.i))
		})
	}
	a.order = order
	for _, o := range order {
		if r := &records[o.i]; !r.Attempt && r.HasParent {
			a.remember(now, r.Parent, true)
		}
	}
	for _, o := range order {
		if r := &records[o.i]; r.Attempt {
			out = a.addAttempt(now, r, out)
		}
	}
	// Attempt spans first: their outer span can end at the same instant (or, on another clock,
	// a hair before them) and must find them held.
	for _, o := range order {
		if r := &records[o.i]; r.Retry && !r.Attempt {
			out = a.holdRetry(now, r, out)
		}
	}
	for _, o := range order {
		r := &records[o.i]
		if r.Attempt || r.Retry {
			continue
		}
		if a.recent.has(r.Self, recentParent) || r.Wrapper {
			if g, ok := a.retries[r.Self]; ok {
				delete(a.retries, r.Self)
				a.remember(now, r.Self, false)
				out = append(out, a.mergeRetries(g, r))
				continue
			}
			a.stats.Wrappers++
			a.dropGroup(r.Self)
			continue
		}
		out = append(out, a.finishLLM(r))
		a.remember(now, r.Self, false)
	}
	return out
}

func (a *Assembler) addAttempt(now time.Time, r *normalize.Record, out []detectors.Call) []detectors.Call {
	if !r.HasParent {
		return a.finishAttempts(&attemptGroup{attempts: []normalize.Record{*r}}, out)
	}
	if a.recent.has(r.Parent, recentEmitted) {
		a.stats.LateAttempts++
		return out
	}
	g, ok := a.pending[r.Parent]
	if !ok {
		if len(a.pending) >= maxPendingGroups {
			out = a.evictOldest(out)
		}
		g = &attemptGroup{}
		a.pending[r.Parent] = g
		a.pendingOrder.push(pendingEntry{key: r.Parent, deadline: now.Add(a.wait)})
	}
	if len(g.attempts) < 64 {
		g.attempts = append(g.attempts, *r)
	}
	return out
}

func (a *Assembler) evictOldest(out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			a.stats.Evicted++
			return a.finishAttempts(g, out)
		}
	}
	return out
}

func (a *Assembler) dropGroup(k normalize.SpanKey) {
	delete(a.pending, k)
}

// Tick emits the attempt groups whose wait is over and forgets expired memories.
func (a *Assembler) Tick(now time.Time, out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 && !a.pendingOrder.peek().deadline.After(now) {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			out = a.finishAttempts(g, out)
		}
	}
	out = a.expireRetries(now, out)
	a.recent.expire(now)
	a.pendingOrder.shrink()
	return out
}

// Flush emits every pending attempt group and retry group, as if their wait were over.
func (a *Assembler) Flush(out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			out = a.finishAttempts(g, out)
		}
	}
	return a.expireRetries(time.Time{}, out)
}

func (a *Assembler) remember(now time.Time, k normalize.SpanKey, parent bool) {
	flag := recentEmitted
	if parent {
		flag = recentParent
	}
	a.recent.add(now, k, flag)
}

// finishLLM completes the call of an LLM span: it folds in the span's attempts and decides the
// outcome (docs/normalisation.md, "Outcome").
func (a *Assembler) finishLLM(r *normalize.Record) detectors.Call {
	c := r.Call
	var last, lastFailed *normalize.Record
	if g, ok := a.pending[r.Self]; ok {
		delete(a.pending, r.Self)
		c.Attempts = len(g.attempts)
		for i := range g.attempts {
			at := &g.attempts[i]
			if at.Failed {
				c.FailedAttempts++
				if lastFailed == nil || at.End >= lastFailed.End {
					lastFailed = at
				}
			}
			if last == nil || at.End >= last.End {
				last = at
			}
			a.learn(at, c.Provider)
		}
		if !last.Failed {
			a.parentStat(c.Service, c.Provider).sawParent(c.Model)
		}
		if c.Provider == detectors.UnknownProvider && last.Host != "" && a.hosts != nil {
			// An LLM span that names no provider, through a host learned from others that do.
			if p := a.hosts.Resolve(last.Host, last.Route); p != "" {
				c.Provider = p
				a.stats.Attributed++
			}
		}
	}
	if lastFailed != nil {
		c.AttemptClass = attemptClass(lastFailed)
	}
	if c.Endpoint == "" && last != nil {
		// An LLM span without server.address went where its last attempt went.
		c.Endpoint = last.Call.Endpoint
	}
	c.HTTPStatus = r.OwnStatus
	if c.HTTPStatus == 0 && last != nil {
		c.HTTPStatus = last.OwnStatus
	}
	if c.HTTPStatus == 0 {
		c.HTTPStatus = r.TextStatus
	}
	switch {
	case r.Failed:
		c.ErrorClass = normalize.ClassFromStatus(c.HTTPStatus)
		if c.ErrorClass == detectors.ClassNone {
			c.ErrorClass = r.TextClass
		}
		if (c.ErrorClass == detectors.ClassOther || c.ErrorClass == detectors.ClassNone) && last != nil && last.Failed {
			c.ErrorClass = attemptClass(last)
		}
		c.Outcome = detectors.OutcomeError
		if c.HTTPStatus == 200 || (c.Streaming && c.TTFT > 0) {
			c.Outcome = detectors.OutcomeTruncated
		}
	case last != nil && last.Failed && last.OwnStatus == 200:
		// The LLM span says OK but its last attempt was cut after the 200 (OpenLLMetry's
		// OpenAI streams end their span as OK on a cut stream).
		c.Outcome = detectors.OutcomeTruncated
		c.ErrorClass = attemptClass(last)
		c.ErrorMessage = last.Call.ErrorMessage
	case c.FinishReason == detectors.FinishAbnormal:
		// The stream says it ended badly (Vercel's finishReason "error" after an in-stream
		// error) and nothing says why: the documented fallback class, never an empty one.
		c.Outcome, c.ErrorClass = detectors.OutcomeTruncated, detectors.ClassOther
	case c.Streaming:
		c.Outcome = a.streamOutcome(&c)
	}
	a.capSeries(&c)
	return c
}

// streamOutcome decides a successful stream: truncated when it has no finish reason, unless
// this service's spans of this convention never carry one on streams.
func (a *Assembler) streamOutcome(c *detectors.Call) detectors.Outcome {
	k := coverageKey{c.Service, c.Convention}
	st, ok := a.coverage[k]
	if !ok {
		if len(a.coverage) >= maxTrackedKeys {
			st = &coverageStat{}
		} else {
			st = &coverageStat{}
			a.coverage[k] = st
		}
	}
	if c.FinishReason != detectors.FinishNone {
		st.with = satInc(st.with)
		return detectors.OutcomeOK
	}
	st.without = satInc(st.without)
	if st.with == 0 && st.without > coverageThreshold {
		return detectors.OutcomeOK
	}
	return detectors.OutcomeTruncated
}

// learn teaches the host map that an attempt to an unknown host served an LLM call of provider.
func (a *Assembler) learn(at *normalize.Record, provider string) {
	if at.Host == "" || a.hosts == nil || provider == "" || provider == detectors.UnknownProvider {
		return
	}
	a.hosts.Learn(at.Host, at.Route, provider, time.Unix(0, at.End))
	a.stats.Learned++
}

// finishAttempts appends the call made of attempts whose LLM span never came, unless they went
// to a host that nothing learned attributes.
func (a *Assembler) finishAttempts(g *attemptGroup, out []detectors.Call) []detectors.Call {
	var last, lastFailed *normalize.Record
	failed := 0
	for i := range g.attempts {
		at := &g.attempts[i]
		if at.Failed {
			failed++
			if lastFailed == nil || at.End >= lastFailed.End {
				lastFailed = at
			}
		}
		if last == nil || at.End >= last.End {
			last = at
		}
	}
	c := last.Call
	if c.Provider == "" {
		if a.hosts != nil {
			c.Provider = a.hosts.Resolve(last.Host, last.Route)
		}
		if c.Provider == "" {
			a.stats.Unattributed++
			return out
		}
		a.stats.Attributed++
	}
	c.Attempts, c.FailedAttempts = len(g.attempts), failed
	if lastFailed != nil {
		c.AttemptClass = attemptClass(lastFailed)
	}
	c.Time = time.Unix(0, last.End).UTC()
	first := g.attempts[0].Start
	for _, at := range g.attempts {
		first = min(first, at.Start)
	}
	c.Duration = time.Duration(last.End - first)
	ps := a.parentStat(c.Service, c.Provider)
	c.Model = cmp.Or(last.URLModel, ps.onlyModel(), detectors.UnknownModel)
	switch {
	case last.Failed && last.OwnStatus == 200:
		c.Outcome, c.ErrorClass = detectors.OutcomeTruncated, attemptClass(last)
	case last.Failed:
		c.Outcome, c.ErrorClass = detectors.OutcomeError, attemptClass(last)
	case ps.normallyParented():
		// This service's successful attempts come with their LLM span: one without it is a
		// call that failed after its response began (both OpenAI instrumentations drop the
		// span of a stream that fails inside its HTTP 200).
		c.Outcome = detectors.OutcomeIncomplete
		c.ErrorMessage = incompleteMessage
	}
	if !last.Failed {
		ps.sawOrphan()
	}
	a.capSeries(&c)
	return append(out, c)
}

// attemptClass classifies a failed attempt: by its status, else by its error texts.
func attemptClass(r *normalize.Record) detectors.ErrorClass {
	if cl := normalize.ClassFromStatus(r.OwnStatus); cl != detectors.ClassNone {
		return cl
	}
	if r.TextClass == detectors.ClassOther || r.TextClass == detectors.ClassNone {
		return detectors.ClassNetwork // failed before a status: a connection-level failure
	}
	return r.TextClass
}

// capSeries folds providers beyond maxProviders and models beyond maxModels into "other"; "other"
// counts towards the caps, so at most maxProviders × maxModels series exist.
// Cap applies the caps on series to a call made elsewhere (from coding agents' logs or GenAI
// metrics): its provider and model are folded into "other" as a span-made call's would be, in
// the same count of series, and the folds are counted in Stats.
func (a *Assembler) Cap(c *detectors.Call) { a.capSeries(c) }

func (a *Assembler) capSeries(c *detectors.Call) {
	if c.Provider == a.lastSeries[0] && c.Model == a.lastSeries[1] {
		return // tracked already: calls come in runs of one series
	}
	a.trackSeries(c)
	a.lastSeries = [2]string{c.Provider, c.Model}
}

func (a *Assembler) trackSeries(c *detectors.Call) {
	models, ok := a.models[c.Provider]
	if !ok {
		if len(a.models) >= a.maxProviders-1 && c.Provider != detectors.OtherProvider {
			a.stats.FoldedProv++
			c.Provider = detectors.OtherProvider
			models = a.models[c.Provider]
		}
		if models == nil {
			models = make(map[string]struct{})
			a.models[c.Provider] = models
		}
	}
	if _, ok := models[c.Model]; ok {
		return
	}
	if len(models) >= a.maxModels-1 && c.Model != detectors.OtherModel {
		a.stats.FoldedModels++
		c.Model = detectors.OtherModel
	}
	models[c.Model] = struct{}{}
}

func satInc(n uint32) uint32 {
	if n == ^uint32(0) {
		return n
	}
	return n + 1
}
