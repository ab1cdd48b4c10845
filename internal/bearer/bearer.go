// Package bearer authenticates requests by bearer token (RFC 6750), as the OpenTelemetry
// Collector's bearertokenauth extension does, for OTLP ingest (HTTP and gRPC) and the API's
// mutations. Tokens are named and read from files (several at once, so one can be rotated while
// the other is still in use); the name, never the token, is what a request is known by: it goes
// into the request's context (NameFrom) for the caller to log.
//
// # Comparison
//
// Check hashes the presented token with SHA-256 and compares the digest with every configured
// token's digest with crypto/subtle.ConstantTimeCompare, without stopping at a match, so the time
// taken reveals neither the tokens' lengths nor which token (or how long a prefix) matched.
//
// # Reloading
//
// Tokens is immutable. Reloading is the caller's: Load again and Set.Swap the result in; the
// middleware and interceptors read the Set's atomic pointer on every request. Nothing here runs
// a goroutine or keeps package-level state.
//
// # Refusals
//
// HTTP: Require sets WWW-Authenticate: Bearer realm="outagewatch" and calls the caller's refuse
// function, which writes the 401 (the OTLP receiver with an OTLP Status body, the API with JSON).
// gRPC: the interceptors return codes.Unauthenticated, as the OTLP specification requires; the
// methods given to Exempt (the health service's, see HealthMethods) are served without a token.
package bearer

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Config is the configured tokens; empty means authentication is off (the caller's decision).
type Config struct {
	Tokens []TokenConfig `yaml:"tokens"`
}

// TokenConfig is one named token, read from a file.
type TokenConfig struct {
	// Name identifies the token in logs (who acknowledged an incident); unique, non-empty.
	Name string `yaml:"name"`
	// File holds the token; surrounding whitespace (a trailing newline) is trimmed.
	File string `yaml:"file"`
}

// Enabled reports whether any token is configured.
func (c Config) Enabled() bool { return len(c.Tokens) > 0 }

// Validate loads the tokens once and reports the first problem (see Load).
func (c Config) Validate() error {
	_, err := Load(c)
	return err
}

type token struct {
	name   string
	digest [sha256.Size]byte
}

// Tokens is an immutable set of named tokens.
type Tokens struct {
	tokens []token
}

// Load reads every token's file. It fails on an empty or duplicate name, an unreadable or empty
// file, or two names with the same token (which would make the name ambiguous). Errors name the
// token and the file, never the token's value.
func Load(cfg Config) (*Tokens, error) {
	t := &Tokens{tokens: make([]token, 0, len(cfg.Tokens))}
	names := make(map[string]bool, len(cfg.Tokens))
	digests := make(map[[sha256.Size]byte]string, len(cfg.Tokens))
	for i, tc := range cfg.Tokens {
		if tc.Name == "" {
			return nil, fmt.Errorf("bearer: tokens[%d]: name is required", i)
		}
		if names[tc.Name] {
			return nil, fmt.Errorf("bearer: tokens[%d]: duplicate name %q", i, tc.Name)
		}
		names[tc.Name] = true
		if tc.File == "" {
			return nil, fmt.Errorf("bearer: token %q: file is required", tc.Name)
		}
		data, err := os.ReadFile(tc.File)
		if err != nil {
			return nil, fmt.Errorf("bearer: token %q: %w", tc.Name, err)
		}
		value := strings.TrimSpace(string(data))
		if value == "" {
			return nil, fmt.Errorf("bearer: token %q: file %s is empty", tc.Name, tc.File)
		}
		d := sha256.Sum256([]byte(value))
		if other, ok := digests[d]; ok {
			return nil, fmt.Errorf("bearer: tokens %q and %q are the same token", other, tc.Name)
		}
		digests[d] = tc.Name
		t.tokens = append(t.tokens, token{name: tc.Name, digest: d})
	}
	return t, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int {
	if t == nil {
		return 0
	}
	return len(t.tokens)
}

// Check returns the name of the token equal to presented. It compares presented's digest with
// every token's in constant time. The empty token never matches.
func (t *Tokens) Check(presented string) (name string, ok bool) {
	if t == nil || presented == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(presented))
	match := -1
	for i := range t.tokens {
		eq := subtle.ConstantTimeCompare(d[:], t.tokens[i].digest[:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return "", false
	}
	return t.tokens[match].name, true
}

// Set is the tokens in force, swapped atomically on reload. The zero Set (or one holding nil)
// refuses every token.
type Set struct {
	cur atomic.Pointer[Tokens]
}

// NewSet returns a Set holding t.
func NewSet(t *Tokens) *Set {
	s := &Set{}
	s.cur.Store(t)
	return s
}

// Swap puts t in force and returns the tokens it replaces.
func (s *Set) Swap(t *Tokens) *Tokens { return s.cur.Swap(t) }

// Tokens returns the tokens in force.
func (s *Set) Tokens() *Tokens { return s.cur.Load() }

// Check is Tokens.Check on the tokens in force.
func (s *Set) Check(presented string) (name string, ok bool) { return s.cur.Load().Check(presented) }

// checkHeader checks an Authorization header's value.
func (s *Set) checkHeader(h string) (string, bool) {
	tok, ok := FromHeader(h)
	if !ok {
		return "", false
	}
	return s.Check(tok)
}

// Scheme is the authorization scheme, matched case-insensitively.
const Scheme = "Bearer"

// FromHeader extracts the token from an Authorization header's (or authorization metadata's)
// value "Bearer <token>": the scheme in any case, then spaces or tabs, then the token with
// surrounding whitespace trimmed. It reports false for another scheme or an empty token.
func FromHeader(h string) (token string, ok bool) {
	h = strings.TrimSpace(h)
	if len(h) <= len(Scheme) || !strings.EqualFold(h[:len(Scheme)], Scheme) {
		return "", false
	}
	if c := h[len(Scheme)]; c != ' ' && c != '\t' {
		return "", false
	}
	token = strings.TrimSpace(h[len(Scheme)+1:])
	return token, token != ""
}

type nameKey struct{}

// WithName returns ctx carrying the name of the token a request presented.
func WithName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, nameKey{}, name)
}

// NameFrom is the name of the token the request presented, or "" (no authentication).
func NameFrom(ctx context.Context) string {
	name, _ := ctx.Value(nameKey{}).(string)
	return name
}

// Message is the message of every refusal; it does not say whether the token was missing or wrong.
const Message = "missing or invalid bearer token"
