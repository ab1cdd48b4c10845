package amtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timings of the instances: small group waits so that notifications come in about a second,
// a repeat interval longer than any test so that a repeat is a bug.
const (
	GroupWait     = 200 * time.Millisecond
	GroupInterval = time.Second
	// PeerTimeout is how long the second member of a cluster waits before it sends; well
	// below GroupInterval, so that both members take their snapshots of a group at the same
	// ticks.
	PeerTimeout = 300 * time.Millisecond
	// WaitLong bounds every wait of the package: an instance ready, a notification, WaitFor.
	WaitLong = 20 * time.Second
)

// groupBy is the route's group_by: one aggregation group per incident.
var groupBy = []string{"alertname", "provider", "incident_id"}

// Binary finds Alertmanager: "alertmanager" on PATH, else the Debian package's. It fails the
// test when there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("alertmanager"); err == nil {
		return p
	}
	if p, err := exec.LookPath("prometheus-alertmanager"); err == nil {
		return p
	}
	const debian = "/usr/bin/prometheus-alertmanager"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	tb.Fatal("Alertmanager is not installed: these tests need the real one; " +
		"run apt-get install prometheus-alertmanager (or put alertmanager on PATH)")
	return ""
}

// Options configures an Instance.
type Options struct {
	// Receiver is the webhook URL every alert is routed to (Receiver.URL), with
	// send_resolved.
	Receiver string
	// Cluster turns on clustering on a free port (Instance.Cluster); without it, no HA mode.
	Cluster bool
	// Peers are the cluster addresses to join.
	Peers []string
	// GroupInterval is the route's group_interval; 0 is GroupInterval. A test whose alerts
	// change at a fixed period (the daemon's hold-downs) picks one that is no divisor of that
	// period, or the changes land on the groups' flush ticks, where the members of a cluster
	// can take different snapshots of a group.
	GroupInterval time.Duration
}

// Instance is one Alertmanager process. Its methods fail the test it was started for.
type Instance struct {
	// URL is its web address, http://127.0.0.1:port.
	URL string
	// Cluster is its cluster address, "" without clustering.
	Cluster string

	tb     testing.TB
	bin    string
	args   []string
	client *http.Client
	grace  time.Duration // how long Stop waits for the exit before it kills
	log    *lockedBuffer

	mu   sync.Mutex // guards cmd and done, swapped by Start and Stop
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts an instance and waits until it is ready; it is stopped at the end of the test,
// and its log printed if the test failed.
func Start(tb testing.TB, o Options) *Instance {
	tb.Helper()
	dir := tb.TempDir()
	configFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(configFile, []byte(config(o)), 0o600); err != nil {
		tb.Fatalf("amtest: %v", err)
	}
	web := FreePort(tb, false)
	in := &Instance{
		URL: "http://" + web, tb: tb, bin: Binary(tb), log: &lockedBuffer{},
		client: Client(tb), grace: 5 * time.Second,
	}
	in.args = []string{
		"--config.file=" + configFile,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + web,
		"--log.level=debug",
	}
	if o.Cluster {
		in.Cluster = FreePort(tb, true)
		in.args = append(in.args, clusterArgs(in.Cluster, o.Peers)...)
		// A clustered instance leaves the mesh on SIGTERM, which waits up to 10 s for the
		// other peer; the tests need nothing from a clean exit.
		in.grace = time.Second
	} else {
		in.args = append(in.args, "--cluster.listen-address=") // no HA mode: no port 9094
	}
	tb.Cleanup(func() {
		in.Stop()
		if tb.Failed() {
			tb.Logf("alertmanager %s log:\n%s", in.URL, in.log.String())
		}
	})
	in.Start()
	return in
}

// config is the instance's configuration: one route to the webhook at o.Receiver.
// Prometheus durations take no fractions: 1500ms, not 1.5s.
func config(o Options) string {
	interval := o.GroupInterval
	if interval == 0 {
		interval = GroupInterval
	}
	return fmt.Sprintf(`route:
  receiver: test
  group_by: [%s]
  group_wait: %dms
  group_interval: %dms
  repeat_interval: 24h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, strings.Join(groupBy, ", "), GroupWait.Milliseconds(), interval.Milliseconds(), o.Receiver)
}

// clusterArgs are the flags of a member listening on addr that joins peers, with short gossip
// intervals so that a pair settles in about a second.
func clusterArgs(addr string, peers []string) []string {
	args := []string{
		"--cluster.listen-address=" + addr,
		"--cluster.advertise-address=" + addr, // memberlist does not pick loopback by itself
		"--cluster.gossip-interval=50ms",
		"--cluster.pushpull-interval=500ms",
		"--cluster.probe-interval=200ms",
		"--cluster.settle-timeout=500ms",
		"--cluster.peer-timeout=" + PeerTimeout.String(),
		"--cluster.reconnect-interval=200ms",
	}
	for _, p := range peers {
		args = append(args, "--cluster.peer="+p)
	}
	return args
}

// Start runs the process again after Stop (on the same ports and storage path) and waits for
// /-/ready. Start (the function) has already called it once.
func (in *Instance) Start() {
	in.tb.Helper()
	in.mu.Lock()
	cmd := exec.Command(in.bin, in.args...)
	cmd.Stdout, cmd.Stderr = in.log, in.log
	if err := cmd.Start(); err != nil {
		in.mu.Unlock()
		in.tb.Fatalf("amtest: start alertmanager: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	in.cmd, in.done = cmd, done
	in.mu.Unlock()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(WaitLong)
	for {
		select {
		case <-done:
			in.tb.Fatalf("alertmanager exited at start: %s", cmd.ProcessState)
		default:
		}
		resp, err := client.Get(in.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			in.tb.Fatalf("alertmanager %s not ready within %s: %v", in.URL, WaitLong, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits for the exit, killing the process after a grace period; clean
// reports an exit of its own with status 0. Alertmanager snapshots its notification log and
// silences to --storage.path on the way out; its alerts are lost. Stop on a stopped instance
// does nothing.
func (in *Instance) Stop() (clean bool) {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.cmd = nil
	in.mu.Unlock()
	if cmd == nil {
		return true
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return cmd.ProcessState.Success()
	case <-time.After(in.grace):
		_ = cmd.Process.Kill()
		<-done
		return false
	}
}

// Restart stops the instance, requiring a clean exit, and starts it again: its notification
// log survives, its alerts do not. Call Logged first for what was notified, or the snapshot
// may miss it and the restarted instance notify it again.
func (in *Instance) Restart() {
	in.tb.Helper()
	if !in.Stop() {
		in.tb.Fatalf("alertmanager %s did not exit cleanly on SIGTERM", in.URL)
	}
	in.Start()
}

// Log is what the process has written so far, across restarts.
func (in *Instance) Log() string { return in.log.String() }

// Get decodes the JSON of GET path into v.
func (in *Instance) Get(path string, v any) {
	in.tb.Helper()
	resp, err := in.client.Get(in.URL + path)
	if err != nil {
		in.tb.Fatalf("amtest: GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		in.tb.Fatalf("amtest: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		in.tb.Fatalf("amtest: GET %s: %v", path, err)
	}
}

// GettableAlert is what GET /api/v2/alerts lists.
type GettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// ActiveAlerts are the alerts the instance holds unresolved (GET /api/v2/alerts).
func (in *Instance) ActiveAlerts() []GettableAlert {
	in.tb.Helper()
	var out []GettableAlert
	in.Get("/api/v2/alerts", &out)
	return out
}

// Settled reports whether the instance's gossip has settled (cluster status "ready", so it
// sends notifications) with n members, itself included.
func (in *Instance) Settled(n int) bool {
	in.tb.Helper()
	var status struct {
		Cluster struct {
			Status string            `json:"status"`
			Peers  []json.RawMessage `json:"peers"`
		} `json:"cluster"`
	}
	in.Get("/api/v2/status", &status)
	return status.Cluster.Status == "ready" && len(status.Cluster.Peers) == n
}

// Metric sums the samples of a counter or gauge on /metrics whose label text contains match
// ("" matches all): alertmanager_notifications_total with `integration="webhook"` counts the
// notifications sent.
func (in *Instance) Metric(name, match string) float64 {
	in.tb.Helper()
	resp, err := in.client.Get(in.URL + "/metrics")
	if err != nil {
		in.tb.Fatalf("amtest: GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		in.tb.Fatalf("amtest: GET /metrics: %v", err)
	}
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			in.tb.Fatalf("amtest: metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// lockedBuffer is a log buffer the process and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
