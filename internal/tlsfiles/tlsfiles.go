// Package tlsfiles serves TLS (and mTLS) from certificate files named in the configuration, and
// follows those files when they change on disk, so a certificate rotated by cert-manager, a
// Kubernetes secret update (a symlink swap) or an operator's "write then rename" is served
// without a restart. Config's field names follow the OpenTelemetry Collector's configtls
// ServerConfig (cert_file, key_file, client_ca_file, min_version, reload_interval).
//
// # Reloading
//
// There is no watcher goroutine and no global state. A Server keeps its current material (key
// pair, leaf, client CA pool) behind an atomic pointer, and the handshake itself notices changes:
// the tls.Config returned by TLSConfig calls back into the Server on every handshake, and at most
// once per ReloadInterval one handshake (whichever wins a compare-and-swap on the time of the
// last check; the others go on with the current material without waiting) reads the files and
// compares their SHA-256 digest with the digest of the files the current material came from.
// When they differ the files are parsed; if they parse and the key matches the certificate, the
// new material replaces the old, otherwise the old stays in service and the failure is logged
// once per distinct content (a half-written key, or a certificate renamed into place before its
// key, must not take the server down; the next check after the key arrives succeeds). Hashing
// the content rather than trusting mtimes makes a symlink swap, a same-second rewrite and a
// rename all visible. A Server that takes no handshakes reads no files, and dropping it leaks
// nothing. Reload does the same check at once and reports the error, for callers that want to
// reload on a signal or in a test.
//
// # Client verification
//
// With ClientCAFile set, client certificates are required and verified against the current pool.
// The verification is done in VerifyConnection (ClientAuth is RequireAnyClientCert) rather than
// by returning a per-handshake config from GetConfigForClient: the tls.Config given to a server
// is cloned and amended by gRPC (credentials.NewTLS adds "h2" to NextProtos) and net/http (adds
// "h2" and "http/1.1"), and a config returned by GetConfigForClient would lose those amendments.
// The verification is the one crypto/tls does for RequireAndVerifyClientCert (roots: the pool;
// intermediates: the rest of the presented chain; key usage: client auth) and it also runs on
// resumed sessions, so a client whose CA was removed is refused even with a session ticket. The
// CertificateRequest carries no list of acceptable CAs (ClientCAs is left nil, since a list fixed
// at TLSConfig time would go stale); clients send their certificate regardless.
package tlsfiles

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is how often, at most, the files are checked when ReloadInterval is 0.
const DefaultReloadInterval = 10 * time.Second

// Config names the files of a TLS server. The zero Config is disabled (plain TCP).
type Config struct {
	// CertFile is the PEM certificate chain, leaf first.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of the leaf.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, turns on mTLS: clients must present a certificate issued by one of
	// the PEM certificates in this file.
	ClientCAFile string `yaml:"client_ca_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default, also for "") or "1.3".
	MinVersion string `yaml:"min_version"`
	// ReloadInterval is how often, at most, the files are checked for changes (on a handshake);
	// 0 means DefaultReloadInterval.
	ReloadInterval time.Duration `yaml:"reload_interval"`
}

// Enabled reports whether TLS is configured (a certificate and a key).
func (c Config) Enabled() bool { return c.CertFile != "" && c.KeyFile != "" }

// Validate checks the configuration and loads the files once, so a bad path, an unreadable file
// or a key that does not match its certificate fails at start-up. The disabled Config is valid.
func (c Config) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("tls: cert_file and key_file must be set together")
	}
	if c.ClientCAFile != "" && c.CertFile == "" {
		return errors.New("tls: client_ca_file needs cert_file and key_file")
	}
	if _, err := c.minVersion(); err != nil {
		return err
	}
	if c.ReloadInterval < 0 {
		return fmt.Errorf("tls: reload_interval %s is negative", c.ReloadInterval)
	}
	if !c.Enabled() {
		return nil
	}
	_, err := c.load()
	return err
}

func (c Config) minVersion() (uint16, error) {
	switch c.MinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tls: min_version %q: want \"1.2\" or \"1.3\"", c.MinVersion)
}

func (c Config) interval() time.Duration {
	if c.ReloadInterval == 0 {
		return DefaultReloadInterval
	}
	return c.ReloadInterval
}

// material is one consistent set of loaded files.
type material struct {
	cert   *tls.Certificate
	pool   *x509.CertPool // nil without ClientCAFile
	digest [sha256.Size]byte
}

// read reads the files and returns their contents and the digest of all of them.
func (c Config) read() (certPEM, keyPEM, caPEM []byte, digest [sha256.Size]byte, err error) {
	if certPEM, err = os.ReadFile(c.CertFile); err != nil {
		return nil, nil, nil, digest, fmt.Errorf("tls: cert_file: %w", err)
	}
	if keyPEM, err = os.ReadFile(c.KeyFile); err != nil {
		return nil, nil, nil, digest, fmt.Errorf("tls: key_file: %w", err)
	}
	if c.ClientCAFile != "" {
		if caPEM, err = os.ReadFile(c.ClientCAFile); err != nil {
			return nil, nil, nil, digest, fmt.Errorf("tls: client_ca_file: %w", err)
		}
	}
	h := sha256.New()
	for _, b := range [][]byte{certPEM, keyPEM, caPEM} {
		var n [8]byte
		l := uint64(len(b))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:]) // length-prefixed, so moving bytes between files changes the digest
		h.Write(b)
	}
	h.Sum(digest[:0])
	return certPEM, keyPEM, caPEM, digest, nil
}

// parse builds material from the files' contents.
func (c Config) parse(certPEM, keyPEM, caPEM []byte, digest [sha256.Size]byte) (*material, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: %s and %s: %w", c.CertFile, c.KeyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: %s: %w", c.CertFile, err)
		}
	}
	m := &material{cert: &pair, digest: digest}
	if c.ClientCAFile != "" {
		m.pool = x509.NewCertPool()
		if !m.pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("tls: client_ca_file %s: no PEM certificate", c.ClientCAFile)
		}
	}
	return m, nil
}

func (c Config) load() (*material, error) {
	certPEM, keyPEM, caPEM, digest, err := c.read()
	if err != nil {
		return nil, err
	}
	return c.parse(certPEM, keyPEM, caPEM, digest)
}

// Server holds a TLS server's current certificate and client CA pool and reloads them when the
// files change. It is safe for concurrent use.
type Server struct {
	cfg        Config
	logger     *slog.Logger
	minVersion uint16
	interval   time.Duration

	cur       atomic.Pointer[material]
	lastCheck atomic.Int64 // UnixNano of the last check of the files (or of New)

	mu         sync.Mutex        // serialises reloads
	failDigest [sha256.Size]byte // content of the last failed reload, not logged twice; under mu
}

// New validates cfg, which must be Enabled, and loads its files. logger (nil for none) gets a
// line for every reload and every rejected change.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if !cfg.Enabled() {
		return nil, errors.New("tls: cert_file and key_file are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	minV, _ := cfg.minVersion()
	m, err := cfg.load()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, logger: logger, minVersion: minV, interval: cfg.interval()}
	s.cur.Store(m)
	s.lastCheck.Store(time.Now().UnixNano())
	return s, nil
}

// TLSConfig returns a new tls.Config for a listener (tls.NewListener, http.Server.TLSConfig
// with ServeTLS(ln, "", ""), or gRPC's credentials.NewTLS). It serves the current certificate
// and verifies clients against the current pool; the caller may set NextProtos and other fields.
func (s *Server) TLSConfig() *tls.Config {
	cfg := &tls.Config{
		MinVersion:     s.minVersion,
		GetCertificate: s.getCertificate,
	}
	if s.cfg.ClientCAFile != "" {
		cfg.ClientAuth = tls.RequireAnyClientCert
		cfg.VerifyConnection = s.verifyClient
	}
	return cfg
}

func (s *Server) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.maybeReload()
	return s.cur.Load().cert, nil
}

// verifyClient does crypto/tls's verification of a client's chain against the current pool.
func (s *Server) verifyClient(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: client certificate required")
	}
	s.maybeReload() // a resumed session skips GetCertificate
	opts := x509.VerifyOptions{
		Roots:         s.cur.Load().pool,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: client certificate: %w", err)
	}
	return nil
}

// maybeReload checks the files if the interval has passed since the last check and no other
// handshake is checking them.
func (s *Server) maybeReload() {
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(s.interval) || !s.lastCheck.CompareAndSwap(last, now) {
		return
	}
	_, _ = s.reload(false) // logged there
}

// Reload checks the files now and loads them if they changed. It returns an error, keeping the
// current material, when a file cannot be read or the new files do not make a valid key pair
// (or CA pool); it returns nil when they are unchanged or were loaded.
func (s *Server) Reload() error {
	s.lastCheck.Store(time.Now().UnixNano())
	_, err := s.reload(true)
	return err
}

// reload loads changed files; it reports whether new material went into service.
func (s *Server) reload(explicit bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	certPEM, keyPEM, caPEM, digest, err := s.cfg.read()
	if err != nil {
		// A file missing for an instant (a non-atomic rotation) is not worth a line per check
		// when it persists; log it once per distinct error text.
		d := sha256.Sum256([]byte(err.Error()))
		if explicit || d != s.failDigest {
			s.failDigest = d
			s.logger.Warn("tls: keeping the current certificate; cannot read the new files", "err", err)
		}
		return false, err
	}
	old := s.cur.Load()
	if digest == old.digest {
		return false, nil
	}
	if digest == s.failDigest && !explicit {
		return false, nil // the same broken files as last time, already logged
	}
	m, err := s.cfg.parse(certPEM, keyPEM, caPEM, digest)
	if err != nil {
		s.failDigest = digest
		s.logger.Warn("tls: keeping the current certificate; the new files are invalid", "err", err)
		return false, err
	}
	s.failDigest = [sha256.Size]byte{}
	s.cur.Store(m)
	s.logger.Info("tls: certificate reloaded", "cert_file", s.cfg.CertFile,
		"serial", m.cert.Leaf.SerialNumber.Text(16), "not_after", m.cert.Leaf.NotAfter)
	return true, nil
}

// NotAfter is the expiry of the certificate being served (for a metric).
func (s *Server) NotAfter() time.Time { return s.cur.Load().cert.Leaf.NotAfter }

// Leaf is the certificate being served.
func (s *Server) Leaf() *x509.Certificate { return s.cur.Load().cert.Leaf }
