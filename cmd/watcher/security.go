package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/internal/bearer"
	"github.com/outagewatch/outagewatch/internal/tlsfiles"
)

// security is what the daemon built from api.tls, api.auth, ingest.tls and ingest.auth: the TLS
// servers of the API and of the OTLP receivers, and the bearer tokens of each (nil when off).
type security struct {
	apiTLS, ingestTLS       *tlsfiles.Server
	apiTokens, ingestTokens *bearer.Set
}

// openMethods are the gRPC methods on the OTLP port that need no bearer token: gRPC health (a
// load balancer's probe) and the cluster's own services, which check the cluster's secret.
var openMethods = []string{"/grpc.health.v1.Health/", "/outagewatch.cluster."}

func newSecurity(cfg Config, logger *slog.Logger) (*security, error) {
	s := &security{}
	var err error
	if cfg.API.TLS.Enabled() {
		if s.apiTLS, err = tlsfiles.New(cfg.API.TLS, logger.With("component", "api tls")); err != nil {
			return nil, err
		}
	}
	if cfg.Ingest.TLS.Enabled() {
		if s.ingestTLS, err = tlsfiles.New(cfg.Ingest.TLS, logger.With("component", "otlp tls")); err != nil {
			return nil, err
		}
	}
	t, err := cfg.API.tokens()
	if err != nil {
		return nil, err
	}
	if t.Len() > 0 {
		s.apiTokens = bearer.NewSet(t)
	}
	if cfg.Ingest.Auth.Enabled() {
		t, err := bearer.Load(cfg.Ingest.Auth)
		if err != nil {
			return nil, err
		}
		s.ingestTokens = bearer.NewSet(t)
	}
	return s, nil
}

// register exports each TLS listener's certificate expiry, so that an alert fires before a
// rotation is missed: outagewatch_tls_certificate_expiry_timestamp_seconds{listener}. The files
// are checked at scrape time (at most once per reload_interval, as on handshakes), so the value
// follows a rotation even without traffic.
func (s *security) register(reg prometheus.Registerer) {
	for _, l := range []struct {
		name string
		srv  *tlsfiles.Server
	}{{"api", s.apiTLS}, {"otlp", s.ingestTLS}} {
		if l.srv == nil {
			continue
		}
		srv := l.srv
		promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "outagewatch_tls_certificate_expiry_timestamp_seconds",
			Help:        "When the certificate a TLS listener serves expires (its NotAfter).",
			ConstLabels: prometheus.Labels{"listener": l.name},
		}, func() float64 {
			_ = srv.Reload() // an invalid file keeps the certificate in service; the reload logs it
			return float64(srv.NotAfter().Unix())
		})
	}
}

// ingest returns the receivers' security.
func (s *security) ingest() ingest.Security {
	var sec ingest.Security
	if s.ingestTLS != nil {
		sec.TLS = s.ingestTLS.TLSConfig()
	}
	if s.ingestTokens != nil {
		sec.Auth, sec.OpenMethods = s.ingestTokens.Check, openMethods
	}
	return sec
}

// mutationTokens returns the API's tokens for the incidents and silences APIs: nil (mutations
// disabled) without any.
func (s *security) mutationTokens() interface {
	Check(string) (string, bool)
} {
	if s.apiTokens == nil {
		return nil
	}
	return s.apiTokens
}

// fileReload is what a configuration reload takes from the security files: the names of what it
// applies, the settings it takes into the running configuration, and the swap done at commit.
type fileReload struct {
	applied []string
	keep    func(*Config)
	commit  func()
}

// reload reads the certificates and tokens again. Certificates: the files of the running
// configuration (a changed path needs a restart); an invalid file fails the reload, and the
// server keeps its certificate. Tokens: the token lists of next (names and files may change
// live) where tokens are on; turning them on or off needs a restart.
func (s *security) reload(next, live Config) (fileReload, error) {
	r := fileReload{keep: func(*Config) {}, commit: func() {}}
	for _, t := range []struct {
		name string
		srv  *tlsfiles.Server
	}{{"api.tls", s.apiTLS}, {"ingest.tls", s.ingestTLS}} {
		if t.srv == nil {
			continue
		}
		if err := t.srv.Reload(); err != nil {
			return r, err
		}
		r.applied = append(r.applied, t.name+" (certificates read again)")
	}
	var swaps []func()
	var keeps []func(*Config)
	if s.apiTokens != nil {
		t, err := next.API.tokens()
		if err != nil {
			return r, err
		}
		if t.Len() > 0 {
			swaps = append(swaps, func() { s.apiTokens.Swap(t) })
			keeps = append(keeps, func(c *Config) { c.API.Auth.Tokens, c.API.Token = next.API.Auth.Tokens, next.API.Token })
			r.applied = append(r.applied, "api.auth.tokens")
		}
	}
	if s.ingestTokens != nil && next.Ingest.Auth.Enabled() {
		t, err := bearer.Load(next.Ingest.Auth)
		if err != nil {
			return r, err
		}
		swaps = append(swaps, func() { s.ingestTokens.Swap(t) })
		keeps = append(keeps, func(c *Config) { c.Ingest.Auth = next.Ingest.Auth })
		r.applied = append(r.applied, "ingest.auth.tokens")
	}
	r.keep = func(c *Config) {
		for _, k := range keeps {
			k(c)
		}
	}
	r.commit = func() {
		for _, sw := range swaps {
			sw()
		}
	}
	return r, nil
}

// protectReads wraps the API's handler when api.auth.protect_reads is set: every request but
// /healthz and /readyz (a kubelet's probes) needs one of the API's tokens (401 without).
func (s *security) protectReads(next http.Handler) http.Handler {
	guarded := s.apiTokens.Require(next, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": bearer.Message})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// logMutations logs every API call that changes something (any method but GET, HEAD and
// OPTIONS) with the name of the token it presented and its answer's status.
func logMutations(next http.Handler, tokens *bearer.Set, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		name := ""
		if tok, ok := bearer.FromHeader(r.Header.Get("Authorization")); ok && tokens != nil {
			name, _ = tokens.Check(tok)
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.Info("api mutation", "method", r.Method, "path", r.URL.Path, "token", name, "status", sw.code, "remote", r.RemoteAddr)
	})
}

// statusWriter records the status code a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer (the SSE stream flushes).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
