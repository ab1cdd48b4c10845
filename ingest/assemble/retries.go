package assemble

import (
	"cmp"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// The Vercel AI SDK makes one span per call (ai.generateText, ai.streamText, ...) and, under it,
// one span per attempt (ai.generateText.doGenerate, .doStream), each with its HTTP POST: it
// retries twice by default. The outer span is the call; its attempt spans are its attempts,
// folded in as the HTTP attempts of the other SDKs are (docs/normalisation.md).

// retryGroup is the calls made of one outer span's attempt spans, in arrival order.
type retryGroup struct {
	calls []detectors.Call
	// deadline is when the group is emitted without its outer span: the wait after its last
	// attempt, as the SDK backs off between attempts (2 s, then 4 s, by default).
	deadline time.Time
}

// holdRetry makes the call of attempt span r (its HTTP attempts folded in) and keeps it until
// its outer span comes or the wait is over.
func (a *Assembler) holdRetry(now time.Time, r *normalize.Record, out []detectors.Call) []detectors.Call {
	c := a.finishLLM(r)
	a.remember(now, r.Self, false)
	if a.recent.has(r.Parent, recentEmitted) {
		a.stats.LateAttempts++ // its call was counted already
		return out
	}
	g, ok := a.retries[r.Parent]
	if !ok {
		if len(a.retries) >= maxPendingGroups {
			out = a.evictRetry(out)
		}
		g = &retryGroup{}
		a.retries[r.Parent] = g
	}
	g.deadline = now.Add(a.wait)
	a.retryOrder.push(pendingEntry{key: r.Parent, deadline: g.deadline})
	if len(g.calls) < 64 {
		g.calls = append(g.calls, c)
	}
	return out
}

// expireRetries emits the groups whose wait is over at now (all of them when now is zero).
func (a *Assembler) expireRetries(now time.Time, out []detectors.Call) []detectors.Call {
	for a.retryOrder.len() > 0 && (now.IsZero() || !a.retryOrder.peek().deadline.After(now)) {
		e := a.retryOrder.pop()
		// An entry is stale when its group took another attempt since (a later deadline).
		if g, ok := a.retries[e.key]; ok && (now.IsZero() || !g.deadline.After(now)) {
			delete(a.retries, e.key)
			a.remember(now, e.key, false) // a late attempt or outer span is not another call
			out = append(out, a.mergeRetries(g, nil))
		}
	}
	a.retryOrder.shrink()
	return out
}

func (a *Assembler) evictRetry(out []detectors.Call) []detectors.Call {
	for a.retryOrder.len() > 0 {
		e := a.retryOrder.pop()
		if g, ok := a.retries[e.key]; ok {
			delete(a.retries, e.key)
			a.remember(e.deadline, e.key, false)
			a.stats.Evicted++
			return append(out, a.mergeRetries(g, nil))
		}
	}
	return out
}

// mergeRetries makes one call of a group of attempt calls: the last attempt's, with every
// attempt's HTTP attempts counted, those that failed, and the class of the last failure. outer
// is the call's own span, nil when it never came.
func (a *Assembler) mergeRetries(g *retryGroup, outer *normalize.Record) detectors.Call {
	slices.SortStableFunc(g.calls, func(x, y detectors.Call) int { return cmp.Compare(x.Time.UnixNano(), y.Time.UnixNano()) })
	c := g.calls[len(g.calls)-1]
	start := c.Time.Add(-c.Duration)
	c.Attempts, c.FailedAttempts, c.AttemptClass = 0, 0, detectors.ClassNone
	for _, at := range g.calls {
		if st := at.Time.Add(-at.Duration); st.Before(start) {
			start = st
		}
		c.Attempts += max(at.Attempts, 1)
		failed := at.FailedAttempts
		if at.Outcome != detectors.OutcomeOK && failed == 0 {
			failed = 1
		}
		c.FailedAttempts += failed
		if failed > 0 {
			c.AttemptClass = cmp.Or(at.AttemptClass, at.ErrorClass, detectors.ClassOther)
		}
	}
	c.Duration = c.Time.Sub(start)
	if outer != nil {
		c.Duration = time.Duration(outer.End - outer.Start)
	}
	return c
}
