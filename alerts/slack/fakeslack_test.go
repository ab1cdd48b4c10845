package slack_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// workspace extends slacktest's server into a small Slack workspace: slacktest answers
// chat.postMessage with second-resolution timestamps, keeps no messages, and has no chat.update,
// conversations.history nor conversations.replies. The handlers below keep every message with
// its thread and metadata, so that the notifier's look-ups run against what was really posted,
// and faults can be queued per method.
type workspace struct {
	srv *slacktest.Server

	mu       sync.Mutex
	seq      int
	messages []*stored          // every message, in post order
	calls    []call             // every request, faults included
	faults   map[string][]fault // per method, served before the real answer
	webhooks []slackgo.WebhookMessage
}

// stored is a message of the workspace.
type stored struct {
	Channel, TS, ThreadTS, Text string
	Metadata                    slackgo.SlackMetadata
	Updates                     int
}

// call is one request the workspace received.
type call struct {
	Method, Channel, TS, ThreadTS, Text string
	Metadata                            slackgo.SlackMetadata
	Fault                               bool
	Status                              int // of a fault
	At                                  time.Time
}

// fault is a canned answer: an HTTP status (with Retry-After for 429) or a Slack error. With
// keep, the message is stored before the fault is answered (Slack posted it, the answer was
// lost).
type fault struct {
	status     int
	retryAfter string
	slackErr   string
	keep       bool
}

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{faults: map[string][]fault{}}
	w.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", w.handle("chat.postMessage", w.post))
		c.Handle("/chat.update", w.handle("chat.update", w.update))
		c.Handle("/conversations.history", w.handle("conversations.history", w.history))
		c.Handle("/conversations.replies", w.handle("conversations.replies", w.replies))
		c.Handle("/webhook", w.webhook)
	})
	w.srv.Start()
	t.Cleanup(w.srv.Stop)
	return w
}

// APIURL is the base URL of the Web API.
func (w *workspace) APIURL() string { return w.srv.GetAPIURL() }

// WebhookURL is an incoming webhook of the workspace.
func (w *workspace) WebhookURL() string { return w.srv.GetAPIURL() + "webhook" }

// fail queues faults for method.
func (w *workspace) fail(method string, faults ...fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[method] = append(w.faults[method], faults...)
}

func (w *workspace) handle(method string, ok func(v url.Values) any) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(body))
		c := call{Method: method, Channel: v.Get("channel"), TS: v.Get("ts"), ThreadTS: v.Get("thread_ts"), Text: v.Get("text"), At: time.Now()}
		_ = json.Unmarshal([]byte(v.Get("metadata")), &c.Metadata)
		w.mu.Lock()
		var f *fault
		if q := w.faults[method]; len(q) > 0 {
			f, w.faults[method] = &q[0], q[1:]
		}
		if f != nil {
			c.Fault, c.Status = true, f.status
		}
		w.calls = append(w.calls, c)
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		switch {
		case f == nil:
			_ = json.NewEncoder(rw).Encode(ok(v))
		case f.keep:
			ok(v)
			rw.WriteHeader(f.status)
		case f.slackErr != "":
			_ = json.NewEncoder(rw).Encode(map[string]any{"ok": false, "error": f.slackErr})
		default:
			if f.retryAfter != "" {
				rw.Header().Set("Retry-After", f.retryAfter)
			}
			rw.WriteHeader(f.status)
		}
	}
}

func (w *workspace) post(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	m := &stored{Channel: v.Get("channel"), TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq),
		ThreadTS: v.Get("thread_ts"), Text: v.Get("text")}
	_ = json.Unmarshal([]byte(v.Get("metadata")), &m.Metadata)
	w.messages = append(w.messages, m)
	return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
}

func (w *workspace) update(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.messages {
		if m.Channel == v.Get("channel") && m.TS == v.Get("ts") {
			m.Text = v.Get("text")
			m.Updates++
			if md := v.Get("metadata"); md != "" { // Slack keeps the metadata when none is given
				_ = json.Unmarshal([]byte(md), &m.Metadata)
			}
			return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
		}
	}
	return map[string]any{"ok": false, "error": "message_not_found"}
}

// history answers with the channel's top-level messages, newest first, one per page so that
// the notifier's paging runs too.
func (w *workspace) history(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var msgs []*stored
	for _, m := range slices.Backward(w.messages) {
		if m.Channel == v.Get("channel") && m.ThreadTS == "" && tsAfter(m.TS, v.Get("oldest")) {
			msgs = append(msgs, m)
		}
	}
	return w.page(msgs, v)
}

// replies answers with a thread, its root first.
func (w *workspace) replies(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var msgs []*stored
	for _, m := range w.messages {
		if m.Channel == v.Get("channel") && (m.TS == v.Get("ts") || m.ThreadTS == v.Get("ts")) {
			msgs = append(msgs, m)
		}
	}
	return w.page(msgs, v)
}

// page answers one message per call; the cursor is the index of the next.
func (w *workspace) page(msgs []*stored, v url.Values) any {
	i, _ := strconv.Atoi(v.Get("cursor"))
	out := []map[string]any{}
	if i < len(msgs) {
		m := msgs[i]
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if m.ThreadTS != "" {
			msg["thread_ts"] = m.ThreadTS
		}
		if v.Get("include_all_metadata") == "1" && m.Metadata.EventType != "" {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	resp := map[string]any{"ok": true, "messages": out, "has_more": i+1 < len(msgs)}
	if i+1 < len(msgs) {
		resp["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(i + 1)}
	}
	return resp
}

func (w *workspace) webhook(rw http.ResponseWriter, r *http.Request) {
	var msg slackgo.WebhookMessage
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(rw, "invalid_payload", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var f *fault
	if q := w.faults["webhook"]; len(q) > 0 {
		f, w.faults["webhook"] = &q[0], q[1:]
	}
	w.calls = append(w.calls, call{Method: "webhook", Text: msg.Text, Fault: f != nil})
	if f != nil {
		http.Error(rw, f.slackErr, f.status)
		return
	}
	w.webhooks = append(w.webhooks, msg)
	_, _ = rw.Write([]byte("ok"))
}

func tsAfter(ts, oldest string) bool {
	if oldest == "" {
		return true
	}
	a, _ := strconv.ParseFloat(ts, 64)
	b, _ := strconv.ParseFloat(oldest, 64)
	return a >= b
}

// Messages returns a copy of the messages, in post order.
func (w *workspace) Messages() []stored {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]stored, len(w.messages))
	for i, m := range w.messages {
		out[i] = *m
	}
	return out
}

// Calls returns the requests of method ("" for all), in order.
func (w *workspace) Calls(method string) []call {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []call
	for _, c := range w.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Webhooks returns the webhook messages received.
func (w *workspace) Webhooks() []slackgo.WebhookMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.webhooks)
}
