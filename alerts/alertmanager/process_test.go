package alertmanager_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The real Alertmanager, started by the tests: each instance on free ports, with its own
// --storage.path, routing every alert to a webhook receiver in the test.

// Timings of the test instances: small group waits so that notifications come in about a
// second, a repeat interval longer than any test so that a repeat is a bug.
const (
	groupWait     = 200 * time.Millisecond
	groupInterval = time.Second
	// HA: the second peer waits this long before it sends; well below groupInterval, so that
	// both peers take their snapshots of a group at the same ticks (see TestHAPairNotifiesOnce).
	peerTimeout = 300 * time.Millisecond
	waitLong    = 20 * time.Second
)

// alertmanagerBinary finds Alertmanager: "alertmanager" on PATH, else the Debian package's.
func alertmanagerBinary(tb testing.TB) string {
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

// webhookAlert is an alert of Alertmanager's webhook notification.
type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// notification is Alertmanager's webhook body (version 4).
type notification struct {
	Status      string            `json:"status"`
	Receiver    string            `json:"receiver"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []webhookAlert    `json:"alerts"`
}

// receiver records the notifications Alertmanager sends to its webhook.
type receiver struct {
	srv *httptest.Server
	ch  chan notification
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	r := &receiver{ch: make(chan notification, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var n notification
		if err := json.NewDecoder(req.Body).Decode(&n); err != nil {
			tb.Errorf("receiver: decode notification: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.ch <- n
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

// next waits for the next notification.
func (r *receiver) next(tb testing.TB, what string) notification {
	tb.Helper()
	select {
	case n := <-r.ch:
		return n
	case <-time.After(waitLong):
		tb.Fatalf("no notification within %s: waiting for %s", waitLong, what)
		return notification{}
	}
}

// none fails if a notification is waiting.
func (r *receiver) none(tb testing.TB, why string) {
	tb.Helper()
	select {
	case n := <-r.ch:
		tb.Fatalf("unexpected notification (%s): %s with %d alerts: %+v", why, n.Status, len(n.Alerts), n.Alerts)
	default:
	}
}

// instance is one Alertmanager process.
type instance struct {
	tb      testing.TB
	bin     string
	args    []string
	URL     string // http://127.0.0.1:port
	Cluster string // its cluster address, "" without clustering

	client *http.Client
	grace  time.Duration // how long stop waits for the exit before it kills

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *lockedBuffer
}

// amOptions configures an instance.
type amOptions struct {
	receiver string // the webhook URL
	cluster  bool
	peers    []string // cluster addresses to join
}

// startAlertmanager starts an instance and waits until it is ready; it is stopped at the end
// of the test, and its log printed if the test failed.
func startAlertmanager(tb testing.TB, o amOptions) *instance {
	tb.Helper()
	dir := tb.TempDir()
	config := fmt.Sprintf(`route:
  receiver: test
  group_by: [alertname, provider, incident_id]
  group_wait: %s
  group_interval: %s
  repeat_interval: 24h
receivers:
  - name: test
    webhook_configs:
      - url: %s
        send_resolved: true
`, groupWait, groupInterval, o.receiver)
	configFile := filepath.Join(dir, "alertmanager.yml")
	require.NoError(tb, os.WriteFile(configFile, []byte(config), 0o600))
	web := freePort(tb, false)
	in := &instance{
		tb: tb, bin: alertmanagerBinary(tb), URL: "http://" + web, log: &lockedBuffer{},
		client: testClient(tb), grace: 5 * time.Second,
	}
	in.args = []string{
		"--config.file=" + configFile,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + web,
		"--log.level=debug",
	}
	if o.cluster {
		in.Cluster = freePort(tb, true)
		in.args = append(in.args,
			"--cluster.listen-address="+in.Cluster,
			"--cluster.advertise-address="+in.Cluster, // memberlist does not pick loopback by itself
			"--cluster.gossip-interval=50ms",
			"--cluster.pushpull-interval=500ms",
			"--cluster.probe-interval=200ms",
			"--cluster.settle-timeout=500ms",
			"--cluster.peer-timeout="+peerTimeout.String(),
			"--cluster.reconnect-interval=200ms",
		)
		// A clustered instance leaves the mesh on SIGTERM, which waits up to 10 s for the
		// other peer; the HA test needs nothing from a clean exit.
		in.grace = time.Second
		for _, p := range o.peers {
			in.args = append(in.args, "--cluster.peer="+p)
		}
	} else {
		in.args = append(in.args, "--cluster.listen-address=") // no HA mode: no port 9094
	}
	tb.Cleanup(func() {
		in.stop()
		if tb.Failed() {
			tb.Logf("alertmanager %s log:\n%s", in.URL, in.log.String())
		}
	})
	in.start()
	return in
}

// start runs the process and waits for /-/ready.
func (in *instance) start() {
	in.tb.Helper()
	in.mu.Lock()
	cmd := exec.Command(in.bin, in.args...)
	cmd.Stdout, cmd.Stderr = in.log, in.log
	require.NoError(in.tb, cmd.Start(), "start alertmanager")
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	in.cmd, in.done = cmd, done
	in.mu.Unlock()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(waitLong)
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
			in.tb.Fatalf("alertmanager %s not ready within %s: %v", in.URL, waitLong, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the exit, killing the process after grace. Alertmanager
// snapshots its notification log and silences to --storage.path on the way out.
func (in *instance) stop() (clean bool) {
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

// get decodes the JSON of GET path into v.
func (in *instance) get(path string, v any) {
	in.tb.Helper()
	resp, err := in.client.Get(in.URL + path)
	require.NoError(in.tb, err)
	defer resp.Body.Close()
	require.Equal(in.tb, http.StatusOK, resp.StatusCode, "GET %s", path)
	require.NoError(in.tb, json.NewDecoder(resp.Body).Decode(v))
}

// gettableAlert is what GET /api/v2/alerts lists.
type gettableAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// activeAlerts are the alerts Alertmanager holds unresolved.
func (in *instance) activeAlerts() []gettableAlert {
	in.tb.Helper()
	var out []gettableAlert
	in.get("/api/v2/alerts", &out)
	return out
}

// settled reports whether the instance's gossip has settled (cluster status "ready", so it
// sends notifications) with n members, itself included.
func (in *instance) settled(n int) bool {
	in.tb.Helper()
	var status struct {
		Cluster struct {
			Status string            `json:"status"`
			Peers  []json.RawMessage `json:"peers"`
		} `json:"cluster"`
	}
	in.get("/api/v2/status", &status)
	return status.Cluster.Status == "ready" && len(status.Cluster.Peers) == n
}

// metric sums the samples of a counter or gauge on /metrics whose labels contain match.
func (in *instance) metric(name, match string) float64 {
	in.tb.Helper()
	resp, err := in.client.Get(in.URL + "/metrics")
	require.NoError(in.tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(in.tb, err)
	sum := 0.0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") || !strings.Contains(line, match) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(in.tb, err, line)
		sum += v
	}
	return sum
}

// logged waits until every instance has logged the notifications it sent so far in its
// notification log. A notification counts as sent once Alertmanager has read the receiver's
// answer and logged it; the receiver sees it before. The next flush of the group (a
// group_interval later) consults the log only after the previous flush is over, so two more
// dedup queries after now prove it. Only for groups that stay (with a firing alert).
func logged(tb testing.TB, what string, ins ...*instance) {
	tb.Helper()
	before := make([]float64, len(ins))
	for i, in := range ins {
		before[i] = in.metric("alertmanager_nflog_queries_total", "")
	}
	waitFor(tb, what, func() bool {
		for i, in := range ins {
			if in.metric("alertmanager_nflog_queries_total", "") < before[i]+2 {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, failing with what after waitLong.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("not within %s: %s", waitLong, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a free 127.0.0.1 port; udp also checks it for UDP (memberlist uses both).
func freePort(tb testing.TB, udp bool) string {
	tb.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(tb, err)
		addr := l.Addr().String()
		if udp {
			u, err := net.ListenPacket("udp", addr)
			if err != nil {
				l.Close()
				continue
			}
			u.Close()
		}
		l.Close()
		return addr
	}
	tb.Fatal("no free port")
	return ""
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

// testClient is a client whose connections are closed at the end of the test (goleak).
func testClient(tb testing.TB) *http.Client {
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}
