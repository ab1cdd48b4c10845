package tlsfiles_test

import (
	"context"
	"crypto/tls"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/outagewatch/outagewatch/internal/leaktest"
	"github.com/outagewatch/outagewatch/internal/tlsfiles"
	"github.com/outagewatch/outagewatch/internal/tlsfiles/tlstest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

var serverHosts = []string{"127.0.0.1", "localhost"}

// serve runs an HTTPS server on loopback with s's TLSConfig, as the daemon's HTTP servers will.
func serve(t *testing.T, s *tlsfiles.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }),
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeTLS(ln, "", "")
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// get makes one request on a new connection and returns the serial of the server's certificate.
func get(t *testing.T, url string, cfg *tls.Config) (*big.Int, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber, nil
}

func mustGet(t *testing.T, url string, cfg *tls.Config) *big.Int {
	t.Helper()
	serial, err := get(t, url, cfg)
	require.NoError(t, err)
	return serial
}

func newServer(t *testing.T, cfg tlsfiles.Config) *tlsfiles.Server {
	t.Helper()
	s, err := tlsfiles.New(cfg, nil)
	require.NoError(t, err)
	return s
}

func TestHandshake(t *testing.T) {
	ca := tlstest.NewCA(t)
	pair := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile})
	addr := serve(t, s)
	assert.Equal(t, pair.Cert.SerialNumber, mustGet(t, "https://"+addr, ca.ClientConfig(nil)))
	_, port, _ := net.SplitHostPort(addr)
	assert.Equal(t, pair.Cert.SerialNumber, mustGet(t, "https://localhost:"+port, ca.ClientConfig(nil)))
	assert.True(t, s.NotAfter().Equal(pair.Cert.NotAfter))
	assert.Equal(t, pair.Cert.SerialNumber, s.Leaf().SerialNumber)

	_, err := get(t, "https://"+addr, &tls.Config{MinVersion: tls.VersionTLS12}) // system roots
	require.Error(t, err, "a client not trusting the CA")
}

// TestRotationRename replaces the files by rename, the key after the certificate: in between,
// the pair does not match and the old one stays in service.
func TestRotationRename(t *testing.T) {
	ca := tlstest.NewCA(t)
	first := ca.Issue(t, serverHosts, false)
	second := ca.IssueValid(t, serverHosts, false, time.Now().Add(48*time.Hour))
	s := newServer(t, tlsfiles.Config{CertFile: first.CertFile, KeyFile: first.KeyFile, ReloadInterval: time.Nanosecond})
	url := "https://" + serve(t, s)
	client := ca.ClientConfig(nil)
	require.Equal(t, first.Cert.SerialNumber, mustGet(t, url, client))

	tlstest.Replace(t, first.CertFile, second.CertPEM)
	assert.Equal(t, first.Cert.SerialNumber, mustGet(t, url, client), "half-rotated: old pair kept")
	require.Error(t, s.Reload())
	assert.True(t, s.NotAfter().Equal(first.Cert.NotAfter))

	tlstest.Replace(t, first.KeyFile, second.KeyPEM)
	assert.Equal(t, second.Cert.SerialNumber, mustGet(t, url, client), "rotated without Reload")
	assert.True(t, s.NotAfter().Equal(second.Cert.NotAfter))
	require.NoError(t, s.Reload(), "unchanged files")
}

// TestRotationSymlinkSwap rotates as Kubernetes updates a mounted secret: the files are symlinks
// through ..data, a symlink to a timestamped directory, which is replaced by a rename.
func TestRotationSymlinkSwap(t *testing.T) {
	ca := tlstest.NewCA(t)
	first := ca.Issue(t, serverHosts, false)
	second := ca.Issue(t, serverHosts, false)
	dir := t.TempDir()
	version := func(name string, p *tlstest.Pair) {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, "tls.crt"), p.CertPEM, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name, "tls.key"), p.KeyPEM, 0o600))
		require.NoError(t, os.Symlink(name, filepath.Join(dir, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	}
	version("..2026_01_01_v1", first)
	for _, f := range []string{"tls.crt", "tls.key"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)))
	}
	s := newServer(t, tlsfiles.Config{
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"),
		ReloadInterval: time.Nanosecond,
	})
	url := "https://" + serve(t, s)
	require.Equal(t, first.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))
	version("..2026_01_02_v2", second)
	assert.Equal(t, second.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))
}

// TestInvalidKeepsOld: a truncated key (or a vanished file) keeps the old material in service.
func TestInvalidKeepsOld(t *testing.T) {
	ca := tlstest.NewCA(t)
	first := ca.Issue(t, serverHosts, false)
	second := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{CertFile: first.CertFile, KeyFile: first.KeyFile, ReloadInterval: time.Nanosecond})
	url := "https://" + serve(t, s)

	tlstest.Replace(t, first.CertFile, second.CertPEM)
	tlstest.Replace(t, first.KeyFile, second.KeyPEM[:len(second.KeyPEM)/2])
	require.Error(t, s.Reload())
	require.Error(t, s.Reload(), "the same bad files fail again when asked")
	assert.Equal(t, first.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))

	require.NoError(t, os.Remove(first.KeyFile))
	require.ErrorIs(t, s.Reload(), os.ErrNotExist)
	assert.Equal(t, first.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))

	tlstest.Replace(t, first.KeyFile, second.KeyPEM)
	require.NoError(t, s.Reload())
	assert.Equal(t, second.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))
}

// TestReloadInterval: the files are not read again before the interval has passed.
func TestReloadInterval(t *testing.T) {
	ca := tlstest.NewCA(t)
	first := ca.Issue(t, serverHosts, false)
	second := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{CertFile: first.CertFile, KeyFile: first.KeyFile, ReloadInterval: time.Hour})
	url := "https://" + serve(t, s)
	tlstest.Replace(t, first.CertFile, second.CertPEM)
	tlstest.Replace(t, first.KeyFile, second.KeyPEM)
	assert.Equal(t, first.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))
	require.NoError(t, s.Reload())
	assert.Equal(t, second.Cert.SerialNumber, mustGet(t, url, ca.ClientConfig(nil)))
}

func TestMutualTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	other := tlstest.NewCA(t)
	srvPair := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{
		CertFile: srvPair.CertFile, KeyFile: srvPair.KeyFile, ClientCAFile: ca.CertFile,
		ReloadInterval: time.Nanosecond,
	})
	url := "https://" + serve(t, s)
	good := ca.Issue(t, nil, true)
	foreign := other.Issue(t, nil, true)

	_, err := get(t, url, ca.ClientConfig(nil))
	require.Error(t, err, "no client certificate")
	mustGet(t, url, ca.ClientConfig(good))
	_, err = get(t, url, ca.ClientConfig(foreign))
	require.Error(t, err, "a certificate from another CA")
	_, err = get(t, url, ca.ClientConfig(ca.Issue(t, nil, false)))
	require.Error(t, err, "a server-auth-only certificate")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := ca.ClientConfig(foreign)
		cfg.MaxVersion = v
		_, err = get(t, url, cfg)
		require.Error(t, err, "another CA, TLS version %x", v)
	}

	// The client CA rotates: the other CA's clients get in, the first CA's no longer.
	caPEM, err := os.ReadFile(other.CertFile)
	require.NoError(t, err)
	tlstest.Replace(t, ca.CertFile, caPEM)
	mustGet(t, url, ca.ClientConfig(foreign))
	_, err = get(t, url, ca.ClientConfig(good))
	require.Error(t, err, "the old CA's client after the CA rotated")
}

func TestMinVersion13(t *testing.T) {
	ca := tlstest.NewCA(t)
	pair := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, MinVersion: "1.3"})
	url := "https://" + serve(t, s)
	old := ca.ClientConfig(nil)
	old.MaxVersion = tls.VersionTLS12
	_, err := get(t, url, old)
	require.Error(t, err)
	mustGet(t, url, ca.ClientConfig(nil))
}

// TestGRPC: gRPC adds "h2" to the config's NextProtos, which must reach the handshake (gRPC
// clients refuse a server without ALPN).
func TestGRPC(t *testing.T) {
	ca := tlstest.NewCA(t)
	pair := ca.Issue(t, serverHosts, false)
	s := newServer(t, tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, ClientCAFile: ca.CertFile})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(s.TLSConfig())))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-done }()

	check := func(cfg *tls.Config) error {
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	require.NoError(t, check(ca.ClientConfig(ca.Issue(t, nil, true))))
	require.Error(t, check(ca.ClientConfig(nil)))
}

// TestConcurrentRotation: handshakes racing with rotations always get a whole pair (run -race).
func TestConcurrentRotation(t *testing.T) {
	ca := tlstest.NewCA(t)
	pairs := []*tlstest.Pair{ca.Issue(t, serverHosts, false), ca.Issue(t, serverHosts, false)}
	s := newServer(t, tlsfiles.Config{CertFile: pairs[0].CertFile, KeyFile: pairs[0].KeyFile, ReloadInterval: time.Nanosecond})
	url := "https://" + serve(t, s)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				serial := mustGet(t, url, ca.ClientConfig(nil))
				assert.True(t, serial.Cmp(pairs[0].Cert.SerialNumber) == 0 || serial.Cmp(pairs[1].Cert.SerialNumber) == 0)
			}
		})
	}
	for i := range 20 {
		p := pairs[i%2]
		tlstest.Replace(t, pairs[0].CertFile, p.CertPEM)
		tlstest.Replace(t, pairs[0].KeyFile, p.KeyPEM)
	}
	wg.Wait()
}

func TestValidate(t *testing.T) {
	ca := tlstest.NewCA(t)
	pair := ca.Issue(t, serverHosts, false)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		cfg  tlsfiles.Config
		ok   bool
	}{
		{"disabled", tlsfiles.Config{}, true},
		{"tls", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile}, true},
		{"mtls 1.3", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, ClientCAFile: ca.CertFile, MinVersion: "1.3"}, true},
		{"cert only", tlsfiles.Config{CertFile: pair.CertFile}, false},
		{"key only", tlsfiles.Config{KeyFile: pair.KeyFile}, false},
		{"ca only", tlsfiles.Config{ClientCAFile: ca.CertFile}, false},
		{"min 1.1", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, MinVersion: "1.1"}, false},
		{"negative interval", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, ReloadInterval: -time.Second}, false},
		{"missing cert", tlsfiles.Config{CertFile: missing, KeyFile: pair.KeyFile}, false},
		{"swapped", tlsfiles.Config{CertFile: pair.KeyFile, KeyFile: pair.CertFile}, false},
		{"key mismatch", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: ca.Issue(t, nil, false).KeyFile}, false},
		{"ca not pem", tlsfiles.Config{CertFile: pair.CertFile, KeyFile: pair.KeyFile, ClientCAFile: pair.KeyFile}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
	_, err := tlsfiles.New(tlsfiles.Config{}, nil)
	require.Error(t, err, "New needs a certificate")
}
