package health

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// stream serves GET /v1/health/stream: Server-Sent Events of every state change, after a
// snapshot; Last-Event-ID resumes. When the board is closed the stream delivers the changes it
// has not sent yet, then a final shutdown event, and ends; a stream opened after Close gets the
// shutdown event alone.
func (a *API) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
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
					a.writeChange(w, c, p)
					cur = c.Version
				}
			}
		}
	}
	if !resumed {
		v, statuses := a.board.Snapshot()
		fmt.Fprintf(w, "id: %d\nevent: snapshot\ndata: %s\n", v, encode(a.report(v, statuses, p)))
		cur = v
	}
	flusher.Flush()

	heartbeat := time.NewTicker(a.heartbeat)
	defer heartbeat.Stop()
	for {
		changed := a.board.Changed()
		if a.board.Version() > cur {
			changes, complete := a.board.Since(cur)
			if !complete {
				v, statuses := a.board.Snapshot()
				fmt.Fprintf(w, "id: %d\nevent: snapshot\ndata: %s\n", v, encode(a.report(v, statuses, p)))
				cur = v
			}
			for _, c := range changes {
				if c.Version > cur {
					a.writeChange(w, c, p)
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

func (a *API) writeChange(w http.ResponseWriter, c Change, p Policy) {
	tr := c.Transition
	to := tr.To
	if tr.Series.Model != "" {
		ms, ps, _, ok := a.board.Model(tr.Series.Provider, tr.Series.Model)
		if ok && ms.State == tr.To {
			to = EffectiveOf(ms, ps.State)
		} else if ok {
			to = Effective(to, ps.State)
		}
	}
	v := ChangeView{
		Version: c.Version, Provider: tr.Series.Provider, Model: tr.Series.Model,
		From: tr.From.String(), To: tr.To.String(), At: tr.At.UTC(), Usable: p.Usable(to),
		Reason: reasonOf(tr.Evidence, tr.To),
	}
	fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n", c.Version, encode(v))
}

// writeShutdown writes the final event of a stream. It carries no id, so that the client's
// Last-Event-ID stays the last change it was sent, from which it resumes elsewhere.
func writeShutdown(w http.ResponseWriter, version uint64) {
	fmt.Fprintf(w, "event: shutdown\ndata: %s\n", encode(ShutdownView{Version: version, Reason: "outagewatch is shutting down: reconnect"}))
}
