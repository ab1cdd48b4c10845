// Package slackfake is a small Slack workspace for tests, built on slack-go's slacktest server:
// it keeps every message with its thread and metadata, answers chat.update,
// conversations.history and conversations.replies, and serves queued faults per method.
package slackfake

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

// Workspace extends slacktest's server into a small Slack workspace: slacktest answers
// chat.postMessage with second-resolution timestamps, keeps no messages, and has no chat.update,
// conversations.history nor conversations.replies. The handlers below keep every message with
// its thread and metadata, so that the notifier's look-ups run against what was really posted,
// and faults can be queued per method.
type Workspace struct {
	srv *slacktest.Server

	mu       sync.Mutex
	seq      int
	messages []*Stored          // every message, in post order
	calls    []Call             // every request, faults included
	faults   map[string][]Fault // per method, served before the real answer
	webhooks []slackgo.WebhookMessage
}

// Stored is a message of the workspace.
type Stored struct {
	Channel, TS, ThreadTS, Text string
	// Blocks are the message's Block Kit blocks as posted (JSON), "" when none.
	Blocks   string
	Metadata slackgo.SlackMetadata
	Updates  int
}

// Call is one request the workspace received.
type Call struct {
	Method, Channel, TS, ThreadTS, Text string
	Metadata                            slackgo.SlackMetadata
	Fault                               bool
	Status                              int // of a fault
	At                                  time.Time
}

// Fault is a canned answer: an HTTP status (with Retry-After for 429) or a Slack error. With
// keep, the message is stored before the fault is answered (Slack posted it, the answer was
// lost).
type Fault struct {
	Status     int
	RetryAfter string
	SlackErr   string
	Keep       bool
}

// New starts a workspace, stopped when the test ends.
func New(tb testing.TB) *Workspace {
	tb.Helper()
	w := &Workspace{faults: map[string][]Fault{}}
	w.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", w.handle("chat.postMessage", w.post))
		c.Handle("/chat.update", w.handle("chat.update", w.update))
		c.Handle("/conversations.history", w.handle("conversations.history", w.history))
		c.Handle("/conversations.replies", w.handle("conversations.replies", w.replies))
		c.Handle("/webhook", w.webhook)
	})
	w.srv.Start()
	tb.Cleanup(w.srv.Stop)
	return w
}

// APIURL is the base URL of the Web API.
func (w *Workspace) APIURL() string { return w.srv.GetAPIURL() }

// WebhookURL is an incoming webhook of the workspace.
func (w *Workspace) WebhookURL() string { return w.srv.GetAPIURL() + "webhook" }

// Fail queues faults for method.
func (w *Workspace) Fail(method string, faults ...Fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults[method] = append(w.faults[method], faults...)
}

func (w *Workspace) handle(method string, ok func(v url.Values) any) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(body))
		c := Call{Method: method, Channel: v.Get("channel"), TS: v.Get("ts"), ThreadTS: v.Get("thread_ts"), Text: v.Get("text"), At: time.Now()}
		_ = json.Unmarshal([]byte(v.Get("metadata")), &c.Metadata)
		w.mu.Lock()
		var f *Fault
		if q := w.faults[method]; len(q) > 0 {
			f, w.faults[method] = &q[0], q[1:]
		}
		if f != nil {
			c.Fault, c.Status = true, f.Status
		}
		w.calls = append(w.calls, c)
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		switch {
		case f == nil:
			_ = json.NewEncoder(rw).Encode(ok(v))
		case f.Keep:
			ok(v)
			rw.WriteHeader(f.Status)
		case f.SlackErr != "":
			_ = json.NewEncoder(rw).Encode(map[string]any{"ok": false, "error": f.SlackErr})
		default:
			if f.RetryAfter != "" {
				rw.Header().Set("Retry-After", f.RetryAfter)
			}
			rw.WriteHeader(f.Status)
		}
	}
}

func (w *Workspace) post(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	m := &Stored{Channel: v.Get("channel"), TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), w.seq),
		ThreadTS: v.Get("thread_ts"), Text: v.Get("text"), Blocks: v.Get("blocks")}
	_ = json.Unmarshal([]byte(v.Get("metadata")), &m.Metadata)
	w.messages = append(w.messages, m)
	return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS}
}

func (w *Workspace) update(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.messages {
		if m.Channel == v.Get("channel") && m.TS == v.Get("ts") {
			m.Text, m.Blocks = v.Get("text"), v.Get("blocks")
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
func (w *Workspace) history(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var msgs []*Stored
	for _, m := range slices.Backward(w.messages) {
		if m.Channel == v.Get("channel") && m.ThreadTS == "" && tsAfter(m.TS, v.Get("oldest")) {
			msgs = append(msgs, m)
		}
	}
	return w.page(msgs, v)
}

// replies answers with a thread, its root first.
func (w *Workspace) replies(v url.Values) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	var msgs []*Stored
	for _, m := range w.messages {
		if m.Channel == v.Get("channel") && (m.TS == v.Get("ts") || m.ThreadTS == v.Get("ts")) {
			msgs = append(msgs, m)
		}
	}
	return w.page(msgs, v)
}

// page answers one message per call; the cursor is the index of the next.
func (w *Workspace) page(msgs []*Stored, v url.Values) any {
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

func (w *Workspace) webhook(rw http.ResponseWriter, r *http.Request) {
	var msg slackgo.WebhookMessage
	if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
		http.Error(rw, "invalid_payload", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var f *Fault
	if q := w.faults["webhook"]; len(q) > 0 {
		f, w.faults["webhook"] = &q[0], q[1:]
	}
	w.calls = append(w.calls, Call{Method: "webhook", Text: msg.Text, Fault: f != nil})
	if f != nil {
		http.Error(rw, f.SlackErr, f.Status)
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
func (w *Workspace) Messages() []Stored {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Stored, len(w.messages))
	for i, m := range w.messages {
		out[i] = *m
	}
	return out
}

// Calls returns the requests of method ("" for all), in order.
func (w *Workspace) Calls(method string) []Call {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Call
	for _, c := range w.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Webhooks returns the webhook messages received.
func (w *Workspace) Webhooks() []slackgo.WebhookMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.webhooks)
}
