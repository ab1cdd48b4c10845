package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// The signatures are checked by an implementation that shares no code with ours: the Standard
// Webhooks reference library for JavaScript (npm standardwebhooks, pinned in
// testdata/verify/package-lock.json), run by node on the requests the endpoint received.

var verifyDir = filepath.Join("testdata", "verify")

var (
	installOnce sync.Once
	installErr  error
)

// referenceVerifier returns a function that verifies a request with the reference library: the
// payload it decoded, or its error. It installs the library with npm ci on first use; without
// node or npm the test fails: the check must not be silently skipped.
func referenceVerifier(tb testing.TB) func(secret string, r request) (payload string, err error) {
	tb.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s is not installed: the signatures are verified with the Standard Webhooks reference library on Node.js (install nodejs and npm)", tool)
		}
	}
	installOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(verifyDir, "node_modules", "standardwebhooks", "package.json")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = verifyDir
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	require.NoError(tb, installErr, "npm ci in %s", verifyDir)
	return func(secret string, r request) (string, error) {
		headers := map[string]string{}
		for _, h := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
			headers[h] = r.header.Get(h)
		}
		in, err := json.Marshal(map[string]any{"secret": secret, "headers": headers, "body": string(r.body)})
		require.NoError(tb, err)
		cmd := exec.Command("node", "verify.mjs")
		cmd.Dir = verifyDir
		cmd.Stdin = bytes.NewReader(in)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			require.ErrorAs(tb, err, &exit, "run node verify.mjs: %s", stderr.String())
			return "", verifyError(strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), nil
	}
}

type verifyError string

func (e verifyError) Error() string { return string(e) }

func TestReferenceLibraryVerifies(t *testing.T) {
	t.Parallel()
	verify := referenceVerifier(t)
	e := newEndpoint(t, nil)
	nt := newNotifier(t, e.URL, time.Now) // the library accepts 5 minutes of skew: real time
	for _, tc := range rowCases {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, nt, e, note(t, tc.kind, tc.eventID))
			payload, err := verify(testSecret, r)
			require.NoError(t, err)
			require.JSONEq(t, string(r.body), payload, "the payload the library decoded is the one sent")
		})
	}
	t.Run("secret of 24 and 64 bytes", func(t *testing.T) {
		for _, n := range []int{24, 64} {
			secret := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5, 0x3c}, n/2))
			other, err := New(Options{URL: e.URL, Secret: secret})
			require.NoError(t, err)
			r := send(t, other, e, note(t, incidents.NotifyOpen, 101))
			_, err = verify(secret, r)
			require.NoError(t, err, "%d bytes", n)
		}
	})
}

func TestReferenceLibraryRejects(t *testing.T) {
	t.Parallel()
	verify := referenceVerifier(t)
	e := newEndpoint(t, nil)
	r := send(t, newNotifier(t, e.URL, time.Now), e, note(t, incidents.NotifyEvent, 102))

	t.Run("wrong secret", func(t *testing.T) {
		wrong := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789ABCDEx"))
		_, err := verify(wrong, r)
		require.ErrorContains(t, err, "No matching signature found")
	})
	t.Run("tampered body", func(t *testing.T) {
		tampered := r
		tampered.body = bytes.Replace(r.body, []byte(`"severity":"critical"`), []byte(`"severity":"warning"`), 1)
		require.NotEqual(t, r.body, tampered.body)
		_, err := verify(testSecret, tampered)
		require.ErrorContains(t, err, "No matching signature found")
	})
	t.Run("another message's id", func(t *testing.T) {
		moved := request{header: r.header.Clone(), body: r.body}
		moved.header.Set("webhook-id", "msg_inc_42_event_103")
		_, err := verify(testSecret, moved)
		require.ErrorContains(t, err, "No matching signature found")
	})
	t.Run("replayed late", func(t *testing.T) {
		c := &clock{t: time.Now().Add(-10 * time.Minute)}
		old := send(t, newNotifier(t, e.URL, c.now), e, note(t, incidents.NotifyEvent, 102))
		_, err := verify(testSecret, old)
		require.ErrorContains(t, err, "Message timestamp too old")
	})
	t.Run("untouched", func(t *testing.T) {
		_, err := verify(testSecret, r)
		require.NoError(t, err, "the same request verifies: the rejections above are the changes'")
	})
}
