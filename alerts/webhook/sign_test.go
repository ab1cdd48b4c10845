package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func TestParseSecret(t *testing.T) {
	t.Parallel()
	key32 := []byte("0123456789abcdef0123456789ABCDEF")
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		secret  string
		want    []byte
		wantErr string
	}{
		{name: "good", secret: "whsec_" + b64(key32), want: key32},
		{name: "a file's newline", secret: "whsec_" + b64(key32) + "\n", want: key32},
		{name: "shortest", secret: "whsec_" + b64(key32[:24]), want: key32[:24]},
		{name: "longest", secret: "whsec_" + b64(append(key32, key32...)), want: append(key32, key32...)},
		{name: "no prefix", secret: b64(key32), wantErr: "must start with whsec_"},
		{name: "another scheme's prefix", secret: "whsk_" + b64(key32), wantErr: "must start with whsec_"},
		{name: "bad base64", secret: "whsec_" + b64(key32)[:10] + "!" + b64(key32)[11:], wantErr: "must be standard base64"},
		{name: "url base64", secret: "whsec_" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 16))), wantErr: "must be standard base64"},
		{name: "no padding", secret: "whsec_" + base64.RawStdEncoding.EncodeToString(key32[:25]), wantErr: "must be standard base64"},
		{name: "short", secret: "whsec_" + b64(key32[:16]), wantErr: "the key is 16 bytes, must be 24 to 64"},
		{name: "long", secret: "whsec_" + b64(append(append(key32, key32...), 'x')), wantErr: "the key is 65 bytes, must be 24 to 64"},
		{name: "empty", secret: "", wantErr: "must start with whsec_"},
		{name: "prefix only", secret: "whsec_", wantErr: "the key is 0 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSecret(tc.secret)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Nil(t, got)
				if s := strings.TrimSpace(tc.secret); len(s) > len("whsec_") {
					require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"), "the error quotes the secret")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"inc:42:open":       "msg_inc_42_open",
		"inc:42:event:102":  "msg_inc_42_event_102",
		"inc:7:resolve:9":   "msg_inc_7_resolve_9",
		"a.b":               "msg_a-2eb",
		"a_b":               "msg_a-5fb",
		"a-b":               "msg_a-2db",
		"a b\n":             "msg_a-20b-0a",
		"\xff":              "msg_-ff",
		"":                  "msg_",
		"inc:1:event:1.5":   "msg_inc_1_event_1-2e5",
		"UPPER:lower:09":    "msg_UPPER_lower_09",
		"inc:42:event:10:2": "msg_inc_42_event_10_2",
	} {
		got := messageID(key)
		require.Equal(t, want, got, "key %q", key)
		require.NotContains(t, got, ".", "the signed content separates with '.'")
	}
	// Distinct keys that a lossy mapping would merge.
	seen := map[string]string{}
	for _, key := range []string{"a:b", "a_b", "a-b", "a.b", "a-5fb", "a_5fb", "a:5fb", "a-3ab"} {
		id := messageID(key)
		require.NotContains(t, seen, id, "%q and %q share %s", key, seen[id], id)
		seen[id] = key
	}
}

// TestSignature checks the signature against the specification's construction, computed here
// with the standard library.
func TestSignature(t *testing.T) {
	t.Parallel()
	key, err := ParseSecret(testSecret)
	require.NoError(t, err)
	body := []byte(`{"type":"incident.opened"}`)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("msg_inc_42_open.1764770525." + string(body)))
	require.Equal(t, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)), sign(key, "msg_inc_42_open", 1764770525, body))
}

// TestWebhookID checks that every attempt of a row carries the same webhook-id, with this
// attempt's timestamp and a signature of its own, and that rows differ.
func TestWebhookID(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t, nil)
	c := &clock{t: time.Unix(1764770525, 0)}
	nt := newNotifier(t, e.URL, c.now)
	n := note(t, incidents.NotifyOpen, 101)

	first := send(t, nt, e, n)
	c.add(90 * time.Second)
	n.Row.Attempts, n.Row.Claims, n.Redelivery = 1, 2, true
	// A restart: another notifier of the same configuration.
	second := send(t, newNotifier(t, e.URL, c.now), e, n)
	other := send(t, nt, e, note(t, incidents.NotifyEvent, 102))

	require.Equal(t, "msg_inc_42_open", first.header.Get("webhook-id"))
	require.Equal(t, first.header.Get("webhook-id"), second.header.Get("webhook-id"))
	require.Equal(t, "1764770525", first.header.Get("webhook-timestamp"))
	require.Equal(t, "1764770615", second.header.Get("webhook-timestamp"))
	require.NotEqual(t, first.header.Get("webhook-signature"), second.header.Get("webhook-signature"))
	require.Equal(t, "msg_inc_42_event_102", other.header.Get("webhook-id"))

	key, err := ParseSecret(testSecret)
	require.NoError(t, err)
	for _, r := range []request{first, second, other} {
		require.True(t, verifyGo(key, r.header, r.body), "the signature of %s", r.header.Get("webhook-id"))
	}
}

// verifyGo is the receiver's check of docs/webhooks.md, in Go.
func verifyGo(key []byte, h interface{ Get(string) string }, body []byte) bool {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	e := newEndpoint(t, nil)
	got := send(t, newNotifier(t, e.URL, time.Now), e, note(t, incidents.NotifyOpen, 101))
	require.Equal(t, "Bearer "+testBearer, got.header.Get("Authorization"), "the token file's newline is trimmed")
	require.Equal(t, "application/json", got.header.Get("Content-Type"))
	require.Equal(t, "outagewatch-webhook/1", got.header.Get("User-Agent"))
	require.Regexp(t, `^v1,[A-Za-z0-9+/]{43}=$`, got.header.Get("webhook-signature"))

	nt, err := New(Options{URL: e.URL, Secret: testSecret})
	require.NoError(t, err)
	_, err = nt.Notify(context.Background(), note(t, incidents.NotifyOpen, 101))
	require.NoError(t, err)
	all := e.received()
	require.Empty(t, all[len(all)-1].header.Values("Authorization"), "no token, no Authorization")
}
