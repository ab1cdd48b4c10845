package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts/webhook"
)

// hookReceiver is a webhook endpoint that checks each request's signature with its own
// HMAC-SHA256 (the Standard Webhooks scheme, written here from the specification) and records
// the verified payloads; a bad signature is refused with 401.
type hookReceiver struct {
	srv *httptest.Server
	key []byte

	mu    sync.Mutex
	ids   []string
	types []string
	bad   int
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	h := &hookReceiver{key: key}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, h.key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var p webhook.Payload
	h.mu.Lock()
	defer h.mu.Unlock()
	if !strings.Contains(" "+r.Header.Get("webhook-signature")+" ", " "+want+" ") || json.Unmarshal(body, &p) != nil {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.ids, h.types = append(h.ids, id), append(h.types, p.Type)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) got() (ids, types []string, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...), append([]string(nil), h.types...), h.bad
}

// TestWebhookTargets runs the daemon with two webhook targets: one selects anthropic's
// incidents, the other openai's only. An outage, its acknowledgement and its recovery reach
// the first as incident.opened, incident.acknowledged and incident.resolved, each once, signed;
// the second gets nothing.
func TestWebhookTargets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-secret-of-32-bytes-for-testing"))
	secretFile := filepath.Join(dir, "hook.secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))
	ours, theirs := newHookReceiver(t, secret), newHookReceiver(t, secret)
	yaml := fastConfig + fmt.Sprintf(`
alerts:
  poll_interval: 20ms
  targets:
    - name: ours
      type: webhook
      urls: [%q]
      secret_file: %q
      match: {providers: [anthropic]}
    - name: theirs
      type: webhook
      urls: [%q]
      secret_file: %q
      match: {providers: [openai]}
`, ours.srv.URL, secretFile, theirs.srv.URL, secretFile)
	d := startDaemonWith(t, yaml, map[string]string{})
	defer d.stop(t)

	sendCalls(t, d, 15, false)
	outage(t, d)
	require.Eventually(t, func() bool { _, types, _ := ours.got(); return len(types) >= 1 }, 20*time.Second, 20*time.Millisecond)
	inc := incidentList(t, d, "?state=active")[0]
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/v1/incidents/%d/ack", d.api(), inc.ID), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer secret-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	recoverModel(t, d)
	require.Eventually(t, func() bool {
		_, types, _ := ours.got()
		return len(types) > 0 && types[len(types)-1] == webhook.TypeResolved
	}, 30*time.Second, 20*time.Millisecond)

	ids, types, bad := ours.got()
	require.Zero(t, bad, "every request verified")
	require.Equal(t, webhook.TypeOpened, types[0])
	require.Contains(t, types, webhook.TypeAcknowledged)
	count := map[string]int{}
	for _, ty := range types {
		count[ty]++
	}
	require.Equal(t, 1, count[webhook.TypeOpened], types)
	require.Equal(t, 1, count[webhook.TypeAcknowledged], types)
	require.Equal(t, 1, count[webhook.TypeResolved], types)
	seen := map[string]bool{}
	for _, id := range ids {
		require.False(t, seen[id], "webhook-id %s twice", id)
		seen[id] = true
	}
	_, other, _ := theirs.got()
	require.Empty(t, other, "openai's target gets no anthropic incident")

	m := scrape(t, d)
	require.Contains(t, m, `outagewatch_alerts_sent_total{kind="open",target="ours"} 1`)
	require.Contains(t, m, `outagewatch_alerts_skipped_total{reason="unmatched",target="theirs"}`)
	require.Contains(t, m, `outagewatch_outbox_backlog{target="ours"}`)
}

// scrape returns the daemon's /metrics text.
func scrape(t *testing.T, d *daemon) string {
	t.Helper()
	code, body := get(t, d.api()+"/metrics")
	require.Equal(t, http.StatusOK, code)
	return body
}

// TestTargetsReload adds a webhook target by a reload: a missing secret file refuses the reload
// and changes nothing; once the file is there, the reload starts the target, and the next
// incident reaches it.
func TestTargetsReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-here!"))
	secretFile := filepath.Join(dir, "hook.secret")
	hook := newHookReceiver(t, secret)
	d := startDaemonWith(t, fastConfig, map[string]string{})
	defer d.stop(t)

	withTarget := fastConfig + fmt.Sprintf(`
alerts:
  poll_interval: 20ms
  targets:
    - {name: tooling, type: webhook, urls: [%q], secret_file: %q}
`, hook.srv.URL, secretFile)
	require.NoError(t, os.WriteFile(d.config, []byte(withTarget), 0o600))
	_, err := d.a.reloader.Reload(t.Context())
	require.ErrorContains(t, err, "alerts.targets[0].secret_file")
	require.NotContains(t, scrape(t, d), `target="tooling"`, "nothing changed")

	require.NoError(t, os.WriteFile(secretFile, []byte(secret), 0o600))
	res, err := d.a.reloader.Reload(t.Context())
	require.NoError(t, err)
	require.Contains(t, res.Applied, "alerts.targets")

	sendCalls(t, d, 15, false)
	outage(t, d)
	require.Eventually(t, func() bool {
		_, types, _ := hook.got()
		return len(types) == 1 && types[0] == webhook.TypeOpened
	}, 20*time.Second, 20*time.Millisecond)
}
