package vendorstatus

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/statusfake"
)

// proxyChildEnv runs the test binary as the proxy test's child (TestMain).
const proxyChildEnv = "OUTAGEWATCH_VENDORSTATUS_PROXY_CHILD"

// TestProxyFromEnvironment: the default client goes through HTTPS_PROXY for an https page (a
// CONNECT) and HTTP_PROXY for an http one (a proxied GET the proxy answers from the fake page).
//
// net/http reads the proxy variables once per process (ProxyFromEnvironment caches them), and
// never proxies loopback addresses, so the poller runs in a child process started with the
// variables set (t.Setenv, hence no t.Parallel) and reads pages of made-up hosts.
func TestProxyFromEnvironment(t *testing.T) {
	fake := statusfake.New(t, "Claude API (api.anthropic.com)")
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI)
		mu.Unlock()
		if r.Method == http.MethodConnect {
			http.Error(w, "no tunnels here", http.StatusForbidden)
			return
		}
		// a forward proxy: the absolute URL's path, answered by the fake page
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.Replace(r.URL.Path, "/", "/statuspage/", 1)
		fake.Handler().ServeHTTP(w, r2)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv(proxyChildEnv, "1")

	out, err := exec.CommandContext(t.Context(), os.Args[0]).CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			lines[k] = v
		}
	}
	require.Equal(t, "unknown", lines["https.indicator"])
	require.Contains(t, lines["https.error"], "Forbidden")
	require.Equal(t, "none", lines["http.indicator"], "read through the proxy: %s", out)

	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, seen, "CONNECT status.proxied.test:443")
	require.Contains(t, seen, "GET http://status.plain.test/api/v2/summary.json")
	require.Contains(t, seen, "GET http://status.plain.test/api/v2/incidents.json")
}

// proxyChild is the child's whole run: a poller with the default client over two made-up pages,
// its findings printed as key=value lines.
func proxyChild() int {
	cfg := DefaultConfig()
	cfg.Sources = []Source{
		{Provider: "https", Format: FormatStatuspage, URL: "https://status.proxied.test"},
		{Provider: "http", Format: FormatStatuspage, URL: "http://status.plain.test"},
	}
	p, err := NewPoller(cfg, NewBoard(), PollerOptions{})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	for _, s := range p.Poll(context.Background()) {
		fmt.Printf("%s.indicator=%s\n%s.error=%s\n", s.Provider, s.Indicator, s.Provider, s.Error)
	}
	return 0
}
