package pgtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Cluster is a PostgreSQL server for tests: a local throwaway cluster, or the server at
// OUTAGEWATCH_TEST_DATABASE_URL (which cannot be stopped).
type Cluster struct {
	// base is the URL of the maintenance database, from which DSN derives the others.
	base *url.URL

	// The rest is set for local clusters only.
	bin  string // directory of initdb and pg_ctl
	dir  string // temporary root: data/, the socket and the server log
	port int

	mu      sync.Mutex // guards running and removed; held across pg_ctl runs
	running bool
	removed bool
}

// startAttempts bounds the retries of a start that lost its free port to another process.
const startAttempts = 3

// dirPrefix names the temporary directories of local clusters; ownerFile in each holds the PID
// of the test binary that started it.
const (
	dirPrefix = "outagewatch-pgtest-"
	ownerFile = "owner.pid"
)

var sweepOnce sync.Once

// newLocal initialises a cluster in a new temporary directory and starts it on a free port.
func newLocal() (c *Cluster, err error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	sweepOnce.Do(func() { sweepOrphans(bin) })
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c = &Cluster{bin: bin, dir: dir}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.shutdown())
		}
	}()
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	if out, err := c.run("initdb", "-D", c.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--no-locale", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, err
		}
		c.base = &url.URL{Scheme: "postgres", User: url.User("postgres"),
			Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/postgres",
			RawQuery: "sslmode=disable"}
		if err = c.start(); err == nil || attempt == startAttempts {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	clustersMu.Lock()
	localClusters = append(localClusters, c)
	clustersMu.Unlock()
	return c, nil
}

// Stop stops the server (a fast shutdown: sessions are disconnected), keeping its data, so that a
// test can see how its code copes with the database going away. It fails the test for an
// external server. Stopping the shared cluster disrupts every test of the binary; fault tests
// should stop a NewCluster of their own.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if c.bin == "" {
		tb.Fatalf("pgtest: cannot stop the server at %s", EnvURL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return
	}
	if out, err := c.run("pg_ctl", "stop", "-D", c.dataDir(), "-m", "fast", "-w"); err != nil {
		tb.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
	c.running = false
}

// Start starts a stopped server again, on the same data directory and port.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if c.bin == "" {
		tb.Fatalf("pgtest: cannot start the server at %s", EnvURL)
	}
	if err := c.start(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	// Durability is worthless here: no fsync, no full-page writes, no waiting for the WAL.
	opts := strings.Join([]string{
		"-F", "-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off",
		"-c listen_addresses=127.0.0.1", "-p " + strconv.Itoa(c.port), "-k " + c.dir,
		"-c max_connections=200",
	}, " ")
	logFile := filepath.Join(c.dir, "server.log")
	if out, err := c.run("pg_ctl", "start", "-D", c.dataDir(), "-l", logFile, "-w", "-t", "60",
		"-o", opts); err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	c.running = true
	return nil
}

// shutdown stops the server at once, if it runs, and removes its files.
func (c *Cluster) shutdown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	var err error
	if c.running {
		if out, stopErr := c.run("pg_ctl", "stop", "-D", c.dataDir(), "-m", "immediate", "-w"); stopErr != nil {
			err = fmt.Errorf("pg_ctl stop: %w\n%s", stopErr, out)
		}
		c.running = false
	}
	c.removed = true
	return errors.Join(err, os.RemoveAll(c.dir))
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }

// run runs a PostgreSQL program, as the postgres user when we are root (initdb and the server
// refuse to run as root).
func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	if err := runAsOwner(cmd); err != nil {
		return nil, err
	}
	return cmd.CombinedOutput()
}

// sweepOrphans stops and removes the clusters of test binaries that died without StopAll (a test
// timeout, a kill), so that they do not pile up: their owner is no longer running. Clusters of
// binaries running alongside (go test runs packages in parallel) are left alone.
func sweepOrphans(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or not set up yet
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		orphan := &Cluster{bin: bin, dir: dir, running: true}
		_ = orphan.shutdown() // best effort: the server may be long gone
	}
}

// findBin returns the directory holding initdb and pg_ctl: on PATH, else the newest
// /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return versionOf(b) - versionOf(a) })
	if len(found) > 0 {
		return filepath.Dir(found[0]), nil
	}
	return "", fmt.Errorf("PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql/*/bin: " +
		"run the tests with scripts/test.sh (see the README), which installs PostgreSQL, or set " +
		EnvURL + " to a server's URL")
}

// versionOf returns the major version in /usr/lib/postgresql/<major>/bin/initdb, or 0.
func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
