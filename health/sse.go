package health

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// stream serves GET /v1/health/stream: Server-Sent Events of every state change, after a
// snapshot; Last-Event-ID resumes. When the board is closed the stream delivers the changes it
// has not sent yet, then a final shutdown event, and ends; a stream opened after Close gets the
// shutdown event alone.
//
// A stream that asks as a caller (?service=, ?endpoint=) gets the answers as that caller sees
// them: its snapshots are the report as that caller sees it, and its local verdict's changes
// come as "change" events. Any other local verdict's change comes as a "local" event, never as
// a "change": the model's own state did not change.
func (a *API) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	caller, err := callerOf(r.URL) // not narrowed to the board's callers: a verdict may come later
	if err != nil {
		writeJSON(w, http.StatusBadRequest, encode(map[string]string{"error": err.Error()}))
		return
	}
	h := w.Header()
	a.clusterMeta().set(h) // as at the start: the events carry the current term and stale
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if a.board.closed() {
		h.Set("Connection", "close") // the client's next connection may reach another replica
		w.WriteHeader(http.StatusOK)
		writeShutdown(w, a.board.Version())
		flusher.Flush()
		return
	}
	w.WriteHeader(http.StatusOK)
	p := policyOf(r)

	cur, resumed := uint64(0), false
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if v, err := strconv.ParseUint(id, 10, 64); err == nil {
			if changes, complete := a.board.Since(v); complete {
				cur, resumed = v, true
				for _, c := range changes {
					a.writeChange(w, c, p, caller)
					cur = c.Version
				}
			}
		}
	}
	life := a.board.lifeNow() // before the snapshot: a new life after it sends another
	if !resumed {
		cur = a.writeSnapshot(w, p, caller)
	}
	flusher.Flush()

	heartbeat := time.NewTicker(a.heartbeat)
	defer heartbeat.Stop()
	for {
		changed := a.board.Changed()
		if l := a.board.lifeNow(); l != life {
			// The versions no longer follow on (replicate.go): start again from a snapshot.
			life = l
			cur = a.writeSnapshot(w, p, caller)
			flusher.Flush()
			continue
		}
		if a.board.Version() > cur {
			changes, complete := a.board.Since(cur)
			if !complete {
				cur = a.writeSnapshot(w, p, caller)
			}
			for _, c := range changes {
				if c.Version > cur {
					a.writeChange(w, c, p, caller)
					cur = c.Version
				}
			}
			flusher.Flush()
			continue
		}
		if a.board.closed() {
			writeShutdown(w, cur)
			flusher.Flush()
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-a.board.done: // deliver what is pending, then the shutdown event
		case <-changed:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// writeSnapshot writes a snapshot event and returns its version.
func (a *API) writeSnapshot(w http.ResponseWriter, p Policy, caller detectors.Caller) uint64 {
	cl := a.clusterMeta()
	v, statuses := a.board.Snapshot()
	fmt.Fprintf(w, "id: %d\nevent: snapshot\ndata: %s\n", v, encode(a.report(v, statuses, p, caller, cl)))
	return v
}

// writeChange writes one change: a series' own, as a "change" event (usable as caller sees
// it when caller has a local verdict of the series), or a local verdict's (writeLocal).
func (a *API) writeChange(w http.ResponseWriter, c Change, p Policy, caller detectors.Caller) {
	tr := c.Transition
	if !tr.Series.Caller.IsZero() {
		a.writeLocal(w, c, p, caller)
		return
	}
	to := tr.To
	if tr.Series.Model != "" {
		ms, ps, _, ok := a.board.Model(tr.Series.Provider, tr.Series.Model)
		if ok && ms.State == tr.To {
			to = EffectiveOf(ms, ps.State)
		} else if ok {
			to = Effective(to, ps.State)
		}
	}
	if l, ok := a.localNow(tr.Series, caller); ok && l.State.Worse(to) {
		to = l.State
	}
	v := ChangeView{
		Version: c.Version, Provider: tr.Series.Provider, Model: tr.Series.Model,
		From: tr.From.String(), To: tr.To.String(), At: tr.At.UTC(), Usable: p.Usable(to),
		Reason: reasonOf(tr.Evidence, tr.To),
	}
	cl := a.clusterMeta()
	v.Term, v.Stale = cl.term, cl.stale
	fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n", c.Version, encode(v))
}

// writeShutdown writes the final event of a stream. It carries no id, so that the client's
// Last-Event-ID stays the last change it was sent, from which it resumes elsewhere.
func writeShutdown(w http.ResponseWriter, version uint64) {
	fmt.Fprintf(w, "event: shutdown\ndata: %s\n", encode(ShutdownView{Version: version, Reason: "outagewatch is shutting down: reconnect"}))
}

// writeLocal writes a local verdict's change: a "change" event on a stream that asked as its
// caller, a "local" event on any other, so that no client reads it as the model changing state.
// from, to and reason are the verdict's own; usable is the answer as its caller sees it (the
// worse of the verdict's new state and the series' effective state).
func (a *API) writeLocal(w http.ResponseWriter, c Change, p Policy, caller detectors.Caller) {
	tr := c.Transition
	own, isProvider := a.effectiveNow(tr.Series.Own()), tr.Series.Model == ""
	seen := tr.To
	if own.Worse(seen) {
		seen = own
	}
	var reason Reason
	if tr.To == detectors.StateDegraded || tr.To == detectors.StateDown {
		reason = callerReason(detectors.Status{Series: tr.Series, State: tr.To, Since: tr.At, Evidence: tr.Evidence}, isProvider)
	} else {
		reason = reasonOf(tr.Evidence, tr.To)
		reason.Caller = tr.Series.Caller.String()
	}
	v := ChangeView{
		Version: c.Version, Provider: tr.Series.Provider, Model: tr.Series.Model, Caller: tr.Series.Caller.String(),
		From: tr.From.String(), To: tr.To.String(), At: tr.At.UTC(), Usable: p.Usable(seen), Reason: reason,
	}
	cl := a.clusterMeta()
	v.Term, v.Stale = cl.term, cl.stale
	event := "local"
	if tr.Series.Caller == caller {
		event = "change"
	}
	fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n", c.Version, event, encode(v))
}

// effectiveNow is a series' effective state on the board now (unknown when it is not there).
func (a *API) effectiveNow(k detectors.SeriesKey) detectors.State {
	if k.Model == "" {
		s, _ := a.board.Get(k)
		return s.State
	}
	ms, ps, _, _ := a.board.Model(k.Provider, k.Model)
	return EffectiveOf(ms, ps.State)
}

// localNow is the series' local verdict for caller on the board now, if it has one.
func (a *API) localNow(k detectors.SeriesKey, caller detectors.Caller) (detectors.Status, bool) {
	if caller.IsZero() {
		return detectors.Status{}, false
	}
	s, ok := a.board.Get(k.Own())
	if !ok {
		return detectors.Status{}, false
	}
	return localFor(s, caller)
}
