package ingest

import (
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Bounds on the assembler's memory, whatever the input.
const (
	maxPendingGroups  = 100_000 // attempt groups waiting for their LLM parent
	maxRecentSpans    = 200_000 // LLM spans (and parents) remembered per generation, to drop late attempts and outer wrappers
	maxTrackedKeys    = 10_000  // (service, convention) and service statistics
	coverageThreshold = 100     // streams seen before a missing finish reason may be excused
	parentedMinimum   = 5       // attempts seen before "normally parented" is believed
)

// assembler turns the records of successive requests into calls: it folds HTTP attempts into
// their LLM span, keeps only the innermost LLM span of a nest, waits a bounded time for LLM
// spans that may never come, and caps the providers and models tracked. It is not safe for
// concurrent use: the pipeline runs it on one goroutine.
type assembler struct {
	wait         time.Duration
	maxProviders int
	maxModels    int

	pending map[spanKey]*attemptGroup
	// pendingOrder lists pending groups in arrival order, for expiry.
	pendingOrder ring[pendingEntry]
	// recent remembers recently emitted LLM spans (late attempts to them are dropped) and the
	// parents of recently seen LLM spans (a late outer wrapper is dropped).
	recent recentSet

	coverage map[coverageKey]*coverageStat
	parented map[string]*parentStat
	models   map[string]map[string]struct{}

	// lastSeries is the (provider, model) capSeries last let through.
	lastSeries [2]string

	stats assemblerStats
	// order is scratch space for add.
	order []endIndex
}

// endIndex sorts a batch's records by end time, then by position.
type endIndex struct {
	end int64
	i   int32
}

type pendingEntry struct {
	key      spanKey
	deadline time.Time
}

type attemptGroup struct {
	attempts []record
}

type coverageKey struct{ service, convention string }

// coverageStat counts successful streams with and without a finish reason.
type coverageStat struct{ with, without uint32 }

// parentStat counts attempts whose LLM parent came and those whose parent did not.
type parentStat struct{ parented, orphaned uint32 }

// assemblerStats are counters the pipeline exports as metrics.
type assemblerStats struct {
	wrappers     uint64 // outer LLM spans not counted
	lateAttempts uint64 // attempts that arrived after their LLM span was emitted
	foldedModels uint64 // calls whose model was folded into "other"
	foldedProv   uint64 // calls whose provider was folded into "other"
	evicted      uint64 // attempt groups emitted early because too many were pending
}

func newAssembler(cfg Config) *assembler {
	return &assembler{
		wait:         cfg.AttemptWait,
		maxProviders: cfg.MaxProviders,
		maxModels:    cfg.MaxModelsPerProvider,
		pending:      make(map[spanKey]*attemptGroup),
		recent:       newRecentSet(2 * cfg.AttemptWait),
		coverage:     make(map[coverageKey]*coverageStat),
		parented:     make(map[string]*parentStat),
		models:       make(map[string]map[string]struct{}),
	}
}

// add takes one request's records at time now and appends the calls they complete to out.
func (a *assembler) add(now time.Time, records []record, out []detectors.Call) []detectors.Call {
	// Children end before their parents, so a batch is processed in end order (through an
	// index, records are large); the parents of every LLM span of the batch are noted first, so
	// that an outer wrapper is recognised even when it precedes its child in the batch.
	order := a.order[:0]
	sorted := true
	for i := range records {
		order = append(order, endIndex{records[i].end, int32(i)})
		sorted = sorted && (i == 0 || records[i-1].end <= records[i].end)
	}
	if !sorted {
		slices.SortFunc(order, func(x, y endIndex) int {
			return cmp.Or(cmp.Compare(x.end, y.end), cmp.Compare(x.i, y.i))
		})
	}
	a.order = order
	for _, o := range order {
		if r := &records[o.i]; !r.attempt && r.hasParent {
			a.remember(now, r.parent, true)
		}
	}
	for _, o := range order {
		if r := &records[o.i]; r.attempt {
			out = a.addAttempt(now, r, out)
		}
	}
	for _, o := range order {
		r := &records[o.i]
		if r.attempt {
			continue
		}
		if a.recent.has(r.self, recentParent) || r.wrapper {
			a.stats.wrappers++
			a.dropGroup(r.self)
			continue
		}
		out = append(out, a.finishLLM(r))
		a.remember(now, r.self, false)
	}
	return out
}

func (a *assembler) addAttempt(now time.Time, r *record, out []detectors.Call) []detectors.Call {
	if !r.hasParent {
		return append(out, a.finishAttempts(&attemptGroup{attempts: []record{*r}}))
	}
	if a.recent.has(r.parent, recentEmitted) {
		a.stats.lateAttempts++
		return out
	}
	g, ok := a.pending[r.parent]
	if !ok {
		if len(a.pending) >= maxPendingGroups {
			out = a.evictOldest(out)
		}
		g = &attemptGroup{}
		a.pending[r.parent] = g
		a.pendingOrder.push(pendingEntry{key: r.parent, deadline: now.Add(a.wait)})
	}
	if len(g.attempts) < 64 {
		g.attempts = append(g.attempts, *r)
	}
	return out
}

func (a *assembler) evictOldest(out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			a.stats.evicted++
			return append(out, a.finishAttempts(g))
		}
	}
	return out
}

func (a *assembler) dropGroup(k spanKey) {
	delete(a.pending, k)
}

// tick emits the attempt groups whose wait is over and forgets expired memories.
func (a *assembler) tick(now time.Time, out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 && !a.pendingOrder.peek().deadline.After(now) {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			out = append(out, a.finishAttempts(g))
		}
	}
	a.recent.expire(now)
	a.pendingOrder.shrink()
	return out
}

// flush emits every pending attempt group, as if their wait were over.
func (a *assembler) flush(out []detectors.Call) []detectors.Call {
	for a.pendingOrder.len() > 0 {
		e := a.pendingOrder.pop()
		if g, ok := a.pending[e.key]; ok {
			delete(a.pending, e.key)
			out = append(out, a.finishAttempts(g))
		}
	}
	return out
}

// ring is a FIFO queue in a circular buffer: pushes and pops allocate nothing once it has grown
// to its working size, and shrink gives the memory of a burst back.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (q *ring[T]) len() int { return q.size }

func (q *ring[T]) push(v T) {
	if q.size == len(q.buf) {
		q.resize(max(64, 2*len(q.buf)))
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

// peek returns the oldest element; the queue must not be empty.
func (q *ring[T]) peek() T { return q.buf[q.head] }

// pop removes and returns the oldest element; the queue must not be empty.
func (q *ring[T]) pop() T {
	v := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}

// shrink halves the buffer while it is at most an eighth full and larger than 1024.
func (q *ring[T]) shrink() {
	for n := len(q.buf); n > 1024 && q.size <= n/8; n /= 2 {
		q.resize(n / 2)
	}
}

func (q *ring[T]) resize(n int) {
	buf := make([]T, n)
	for i := 0; i < q.size; i++ {
		buf[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = buf, 0
}

func (a *assembler) remember(now time.Time, k spanKey, parent bool) {
	flag := recentEmitted
	if parent {
		flag = recentParent
	}
	a.recent.add(now, k, flag)
}

// Flags of recentSet.
const (
	recentParent uint8 = 1 << iota
	recentEmitted
)

// recentSet remembers span keys with flags for at least ttl, in two generations: a key lives
// until the generation after its own is dropped, between ttl and 2·ttl. Dropping a generation is
// one clear, not a delete per key. A generation holds at most maxRecentSpans keys; a full one is
// rotated early, so that memory stays bounded at any rate. Keys are stored as a seeded 64-bit
// hash of the trace and span IDs (a collision, at odds of about 2^-40 with a full set, would drop
// one call).
type recentSet struct {
	ttl      time.Duration
	seed     uint64
	cur, old map[uint64]uint8
	since    time.Time // when cur began
}

func newRecentSet(ttl time.Duration) recentSet {
	return recentSet{ttl: ttl, seed: rand.Uint64(), cur: make(map[uint64]uint8), old: make(map[uint64]uint8)}
}

// add remembers k with flag; the caller calls expire from time to time (the pipeline's tick).
func (s *recentSet) add(now time.Time, k spanKey, flag uint8) {
	if len(s.cur) >= maxRecentSpans {
		s.rotate(now)
	}
	s.cur[s.hash(k)] |= flag
}

func (s *recentSet) has(k spanKey, flag uint8) bool {
	h := s.hash(k)
	return (s.cur[h]|s.old[h])&flag != 0
}

// hash mixes the key's three words with a per-process seed (trace and span IDs are random
// already; the seed keeps crafted collisions out of reach).
func (s *recentSet) hash(k spanKey) uint64 {
	h := (binary.LittleEndian.Uint64(k[0:]) ^ s.seed) * 0x9E3779B97F4A7C15
	h = (h ^ binary.LittleEndian.Uint64(k[8:])) * 0xBF58476D1CE4E5B9
	h = (h ^ binary.LittleEndian.Uint64(k[16:])) * 0x94D049BB133111EB
	return h ^ h>>31
}

// expire drops the generations older than ttl.
func (s *recentSet) expire(now time.Time) {
	switch age := now.Sub(s.since); {
	case age >= 2*s.ttl:
		clear(s.old)
		clear(s.cur)
		s.since = now
	case age >= s.ttl:
		s.rotate(now)
	}
}

func (s *recentSet) rotate(now time.Time) {
	s.old, s.cur = s.cur, s.old
	clear(s.cur)
	s.since = now
}

// finishLLM completes the call of an LLM span: it folds in the span's attempts and decides the
// outcome (docs/normalisation.md, "Outcome").
func (a *assembler) finishLLM(r *record) detectors.Call {
	c := r.call
	var last, lastFailed *record
	if g, ok := a.pending[r.self]; ok {
		delete(a.pending, r.self)
		c.Attempts = len(g.attempts)
		for i := range g.attempts {
			at := &g.attempts[i]
			if at.failed {
				c.FailedAttempts++
				if lastFailed == nil || at.end >= lastFailed.end {
					lastFailed = at
				}
			}
			if last == nil || at.end >= last.end {
				last = at
			}
		}
		a.parentStat(c.Service).parented++
	}
	if lastFailed != nil {
		c.AttemptClass = attemptClass(lastFailed)
	}
	c.HTTPStatus = r.ownStatus
	if c.HTTPStatus == 0 && last != nil {
		c.HTTPStatus = last.ownStatus
	}
	if c.HTTPStatus == 0 {
		c.HTTPStatus = r.textStatus
	}
	switch {
	case r.failed:
		c.ErrorClass = classFromStatus(c.HTTPStatus)
		if c.ErrorClass == detectors.ClassNone {
			c.ErrorClass = r.textClass
		}
		if (c.ErrorClass == detectors.ClassOther || c.ErrorClass == detectors.ClassNone) && last != nil && last.failed {
			c.ErrorClass = attemptClass(last)
		}
		c.Outcome = detectors.OutcomeError
		if c.HTTPStatus == 200 || (c.Streaming && c.TTFT > 0) {
			c.Outcome = detectors.OutcomeTruncated
		}
	case last != nil && last.failed && last.ownStatus == 200:
		// The LLM span says OK but its last attempt was cut after the 200 (OpenLLMetry's
		// OpenAI streams end their span as OK on a cut stream).
		c.Outcome = detectors.OutcomeTruncated
		c.ErrorClass = attemptClass(last)
		c.ErrorMessage = last.call.ErrorMessage
	case c.FinishReason == detectors.FinishAbnormal:
		c.Outcome = detectors.OutcomeTruncated
	case c.Streaming:
		c.Outcome = a.streamOutcome(&c)
	}
	a.capSeries(&c)
	return c
}

// streamOutcome decides a successful stream: truncated when it has no finish reason, unless
// this service's spans of this convention never carry one on streams.
func (a *assembler) streamOutcome(c *detectors.Call) detectors.Outcome {
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

// finishAttempts makes a call from attempts whose LLM span never came.
func (a *assembler) finishAttempts(g *attemptGroup) detectors.Call {
	var last, lastFailed *record
	failed := 0
	for i := range g.attempts {
		at := &g.attempts[i]
		if at.failed {
			failed++
			if lastFailed == nil || at.end >= lastFailed.end {
				lastFailed = at
			}
		}
		if last == nil || at.end >= last.end {
			last = at
		}
	}
	c := last.call
	c.Attempts, c.FailedAttempts = len(g.attempts), failed
	if lastFailed != nil {
		c.AttemptClass = attemptClass(lastFailed)
	}
	c.Time = time.Unix(0, last.end).UTC()
	first := g.attempts[0].start
	for _, at := range g.attempts {
		first = min(first, at.start)
	}
	c.Duration = time.Duration(last.end - first)
	c.Model = last.urlModel
	if c.Model == "" {
		c.Model = detectors.UnknownModel
	}
	ps := a.parentStat(c.Service)
	switch {
	case last.failed && last.ownStatus == 200:
		c.Outcome, c.ErrorClass = detectors.OutcomeTruncated, attemptClass(last)
	case last.failed:
		c.Outcome, c.ErrorClass = detectors.OutcomeError, attemptClass(last)
	case ps.parented >= parentedMinimum && ps.parented > ps.orphaned:
		c.Outcome = detectors.OutcomeIncomplete
	}
	ps.orphaned++
	a.capSeries(&c)
	return c
}

// attemptClass classifies a failed attempt: by its status, else by its error texts.
func attemptClass(r *record) detectors.ErrorClass {
	if cl := classFromStatus(r.ownStatus); cl != detectors.ClassNone {
		return cl
	}
	if r.textClass == detectors.ClassOther || r.textClass == detectors.ClassNone {
		return detectors.ClassNetwork // failed before a status: a connection-level failure
	}
	return r.textClass
}

func (a *assembler) parentStat(service string) *parentStat {
	st, ok := a.parented[service]
	if !ok {
		st = &parentStat{}
		if len(a.parented) < maxTrackedKeys {
			a.parented[service] = st
		}
	}
	return st
}

// capSeries folds providers beyond maxProviders and models beyond maxModels into "other"; "other"
// counts towards the caps, so at most maxProviders × maxModels series exist.
func (a *assembler) capSeries(c *detectors.Call) {
	if c.Provider == a.lastSeries[0] && c.Model == a.lastSeries[1] {
		return // tracked already: calls come in runs of one series
	}
	a.trackSeries(c)
	a.lastSeries = [2]string{c.Provider, c.Model}
}

func (a *assembler) trackSeries(c *detectors.Call) {
	models, ok := a.models[c.Provider]
	if !ok {
		if len(a.models) >= a.maxProviders-1 && c.Provider != detectors.OtherProvider {
			a.stats.foldedProv++
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
		a.stats.foldedModels++
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
