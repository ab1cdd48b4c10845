package webhook

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseSecret checks that ParseSecret never panics, returns exactly one of a key and an
// error, accepts only keys of 24 to 64 bytes that encode back to the secret, and never quotes
// a secret in its error.
func FuzzParseSecret(f *testing.F) {
	for _, seed := range []string{
		testSecret, testSecret + "\n", "whsec_", "", "whsec_====", "whsec_c2hvcnQ=",
		"whsec_" + strings.Repeat("A", 88), "whsec_" + strings.Repeat("A", 86) + "==",
		"whsk_" + strings.TrimPrefix(testSecret, "whsec_"), " whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseSecret(s)
		if (key == nil) == (err == nil) {
			t.Fatalf("ParseSecret(%q) = %x, %v: want exactly one of a key and an error", s, key, err)
		}
		if err != nil {
			encoded := strings.TrimPrefix(strings.TrimSpace(s), "whsec_")
			if len(encoded) >= 16 && !strings.Contains(encoded, "$(") && strings.Contains(err.Error(), encoded) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			return
		}
		if len(key) < 24 || len(key) > 64 {
			t.Fatalf("ParseSecret(%q) accepted a key of %d bytes", s, len(key))
		}
		again, err := ParseSecret("whsec_" + base64.StdEncoding.EncodeToString(key))
		if err != nil || !bytes.Equal(again, key) {
			t.Fatalf("the key of %q does not round-trip: %x, %v", s, again, err)
		}
	})
}
