// Package tlstest makes certificates for tests: a CA (ECDSA P-256, self-signed) that issues
// server and client certificates, each written as PEM files into the test's t.TempDir(), so a
// test can point a tlsfiles.Config (or the daemon's configuration) at real files. Replace swaps a
// file's content atomically (write to a temporary file, then rename), as a certificate rotation
// on disk does. For tests only: keys are not protected and failures end the test.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority.
type CA struct {
	// CertFile is the CA certificate's PEM file (a client_ca_file, or a client's root).
	CertFile string
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// Pool holds only Cert.
	Pool *x509.CertPool

	key *ecdsa.PrivateKey
	dir string
}

// Pair is an issued certificate with its key.
type Pair struct {
	// CertFile and KeyFile are the PEM files (certificate; PKCS#8 private key).
	CertFile, KeyFile string
	// CertPEM and KeyPEM are the files' contents.
	CertPEM, KeyPEM []byte
	// Cert is the parsed certificate; Cert.SerialNumber tells certificates apart.
	Cert *x509.Certificate
	// TLS is the pair ready for tls.Config.Certificates (a client's certificate).
	TLS tls.Certificate
}

// NewCA makes a CA valid from an hour ago for a day, writing its certificate to a temporary
// directory.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key := newKey(tb)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(tb),
		Subject:               pkix.Name{CommonName: "outagewatch test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("tlstest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("tlstest: parse CA: %v", err)
	}
	dir := tb.TempDir()
	ca := &CA{Cert: cert, Pool: x509.NewCertPool(), key: key, dir: dir}
	ca.Pool.AddCert(cert)
	ca.CertFile = filepath.Join(dir, "ca-"+cert.SerialNumber.Text(16)+".pem")
	writeFile(tb, ca.CertFile, pemBlock("CERTIFICATE", der))
	return ca
}

// Issue makes a certificate signed by the CA for hosts (each an IP address or a DNS name), for
// client authentication when client is true and for server authentication otherwise, valid from
// an hour ago for a day, and writes it and its key to new files.
func (ca *CA) Issue(tb testing.TB, hosts []string, client bool) *Pair {
	tb.Helper()
	return ca.IssueValid(tb, hosts, client, time.Now().Add(24*time.Hour))
}

// IssueValid is Issue with the certificate's NotAfter given (to tell rotations apart by expiry,
// or to make an expired certificate).
func (ca *CA) IssueValid(tb testing.TB, hosts []string, client bool, notAfter time.Time) *Pair {
	tb.Helper()
	key := newKey(tb)
	serial := newSerial(tb)
	usage := x509.ExtKeyUsageServerAuth
	cn := "outagewatch test server"
	if client {
		usage = x509.ExtKeyUsageClientAuth
		cn = "outagewatch test client"
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatalf("tlstest: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("tlstest: parse certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("tlstest: marshal key: %v", err)
	}
	p := &Pair{
		CertPEM: pemBlock("CERTIFICATE", der),
		KeyPEM:  pemBlock("PRIVATE KEY", keyDER),
		Cert:    cert,
	}
	p.TLS, err = tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		tb.Fatalf("tlstest: key pair: %v", err)
	}
	base := filepath.Join(ca.dir, serial.Text(16))
	p.CertFile, p.KeyFile = base+"-cert.pem", base+"-key.pem"
	writeFile(tb, p.CertFile, p.CertPEM)
	writeFile(tb, p.KeyFile, p.KeyPEM)
	return p
}

// ClientConfig is a client's tls.Config trusting the CA, presenting pair when it is not nil.
func (ca *CA) ClientConfig(pair *Pair) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12}
	if pair != nil {
		cfg.Certificates = []tls.Certificate{pair.TLS}
	}
	return cfg
}

// Replace gives path the content data atomically: it writes a temporary file in path's directory
// and renames it over path, so a reader sees the old content or the new, never a part.
func Replace(tb testing.TB, path string, data []byte) {
	tb.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".tlstest-*")
	if err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		tb.Fatalf("tlstest: write %s: %v %v", f.Name(), werr, cerr)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("tlstest: generate key: %v", err)
	}
	return key
}

func newSerial(tb testing.TB) *big.Int {
	tb.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatalf("tlstest: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1))
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
}
