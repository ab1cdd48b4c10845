package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// secretPrefix starts a Standard Webhooks symmetric secret: whsec_ and the key in base64.
const secretPrefix = "whsec_"

// Bounds of a secret's key, in bytes, as the specification sets them (192 to 512 bits).
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

// ParseSecret decodes a Standard Webhooks secret, "whsec_" and the key in standard base64 with
// padding (what the reference libraries decode), and returns the key. Surrounding white space,
// such as the newline ending a secret file, is ignored. The key must be 24 to 64 bytes long.
// Errors never quote the secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	encoded, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New("webhook secret: must start with " + secretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		// The error of encoding/base64 names an offset, never the input.
		return nil, fmt.Errorf("webhook secret: after %s, must be standard base64: %w", secretPrefix, err)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("webhook secret: the key is %d bytes, must be %d to %d (generate one with: echo %s$(openssl rand -base64 32))",
			len(key), minSecretBytes, maxSecretBytes, secretPrefix)
	}
	return key, nil
}

// sign returns the webhook-signature header of a message: "v1," and the base64 HMAC-SHA256 of
// id.timestamp.body under key.
func sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// messageID returns the webhook-id of the outbox row with dedupKey: "msg_" and the key with
// ':' spelled '_', letters and digits kept and any other byte spelled "-" and two hex digits
// ("inc:42:event:7" is "msg_inc_42_event_7"). The dedup key names the row for good, so every
// attempt of the row, across retries and restarts, carries the same ID, and distinct keys give
// distinct IDs. The ID never holds a '.', which the signed content uses as its separator.
func messageID(dedupKey string) string {
	var b strings.Builder
	b.Grow(len("msg_") + len(dedupKey))
	b.WriteString("msg_")
	for i := range len(dedupKey) {
		c := dedupKey[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ':':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "-%02x", c)
		}
	}
	return b.String()
}
