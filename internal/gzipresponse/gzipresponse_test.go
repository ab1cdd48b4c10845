package gzipresponse

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// body is what the test handler serves: long and repetitive, as /metrics is.
var body = strings.Repeat("outagewatch_calls_total{provider=\"anthropic\",model=\"claude\"} 1\n", 2000)

// serve starts a real server whose handler records the Accept-Encoding it was given and
// answers with status code (and body when the code allows one).
func serve(t *testing.T, code int, encoding string) (url string, seen *[]string) {
	t.Helper()
	var got []string
	srv := httptest.NewServer(New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Accept-Encoding"))
		w.Header().Set("Content-Type", "text/plain")
		if bodyAllowed(code) && r.Method != http.MethodHead {
			w.Header().Set("Content-Length", strconv.Itoa(len(body))) // wrong once compressed: must be dropped
		}
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		w.WriteHeader(code)
		if bodyAllowed(code) && r.Method != http.MethodHead {
			_, _ = io.WriteString(w, body[:len(body)/2])
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, body[len(body)/2:])
		}
	})))
	t.Cleanup(srv.Close)
	return srv.URL, &got
}

// get sends a request with accept as its Accept-Encoding (none when empty), without the
// transport's own gzip handling, and returns the response and its raw body.
func get(t *testing.T, method, url, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

func TestGzipWhenAccepted(t *testing.T) {
	url, seen := serve(t, http.StatusOK, "")
	for _, accept := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*", "GZIP", "x-gzip"} {
		resp, raw := get(t, http.MethodGet, url, accept)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), accept)
		require.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding")
		require.Empty(t, resp.Header.Get("Content-Length"), accept)
		require.Less(t, len(raw), len(body)/10, "%s: compressed", accept)
		zr, err := gzip.NewReader(strings.NewReader(string(raw)))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Equal(t, body, string(plain), accept)
	}
	for _, s := range *seen {
		require.Empty(t, s, "the wrapped handler never sees Accept-Encoding")
	}
}

func TestIdentityWhenNotAccepted(t *testing.T) {
	url, seen := serve(t, http.StatusOK, "")
	for _, accept := range []string{"", "identity", "gzip;q=0", "gzip;q=0, *", "*;q=0", "br", "gzip;q=oops", "gzip;q=2"} {
		resp, raw := get(t, http.MethodGet, url, accept)
		require.Empty(t, resp.Header.Get("Content-Encoding"), accept)
		require.Equal(t, body, string(raw), accept)
	}
	for _, s := range *seen {
		require.Empty(t, s)
	}
}

func TestNoBodyNoEncoding(t *testing.T) {
	for _, code := range []int{http.StatusNoContent, http.StatusNotModified} {
		url, _ := serve(t, code, "")
		resp, raw := get(t, http.MethodGet, url, "gzip")
		require.Equal(t, code, resp.StatusCode)
		require.Empty(t, resp.Header.Get("Content-Encoding"), code)
		require.Empty(t, raw)
	}
	url, _ := serve(t, http.StatusOK, "")
	resp, raw := get(t, http.MethodHead, url, "gzip")
	require.Empty(t, resp.Header.Get("Content-Encoding"), "HEAD")
	require.Empty(t, raw)
}

func TestErrorsAreCompressedToo(t *testing.T) {
	url, _ := serve(t, http.StatusInternalServerError, "")
	resp, raw := get(t, http.MethodGet, url, "gzip")
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(string(raw)))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, body, string(plain))
}

func TestAlreadyEncodedPassesThrough(t *testing.T) {
	url, _ := serve(t, http.StatusOK, "br")
	resp, raw := get(t, http.MethodGet, url, "gzip")
	require.Equal(t, "br", resp.Header.Get("Content-Encoding"))
	require.Equal(t, body, string(raw))
}

func TestEmptyBodyIsAValidStream(t *testing.T) {
	srv := httptest.NewServer(New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(srv.Close)
	resp, raw := get(t, http.MethodGet, srv.URL, "gzip")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(string(raw)))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Empty(t, plain)
}

// TestPooledWritersDoNotMix serves many requests at once through one Handler: each answer
// decompresses to its own body.
func TestPooledWritersDoNotMix(t *testing.T) {
	h := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat(r.URL.Query().Get("x"), 5000))
	}))
	const n = 32
	errs := make(chan error, n)
	for i := range n {
		go func() {
			want := strings.Repeat(string(rune('a'+i%26)), 5000)
			req := httptest.NewRequest(http.MethodGet, "/?x="+want[:1], nil)
			req.Header.Set("Accept-Encoding", "gzip")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(zr)
			if err == nil && string(got) != want {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for accept, want := range map[string]bool{
		"gzip": true, " gzip ": true, "deflate, gzip": true, "gzip;q=0.001": true, "gzip; q=1": true,
		"x-gzip": true, "*": true, "*;q=0.5": true, "identity, *;q=0.1": true,
		"": false, "identity": false, "gzip;q=0": false, "gzip;q=0.0": false, "gzip;Q=0": false,
		"*;q=0": false, "gzip;q=0, *": false, "br, zstd": false, "gzip;q=-1": false, "gzip;q=": false,
		"gzipx": false, ",,,;;;": false,
	} {
		require.Equal(t, want, AcceptsGzip([]string{accept}), "%q", accept)
	}
	require.True(t, AcceptsGzip([]string{"br", "gzip"}), "values in several header lines")
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.5, gzip;q=0", "br;q=1.0, gzip;q=0.8", ";;=,,q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AcceptsGzip([]string{s})
		lower := strings.ToLower(s)
		if got && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*") {
			t.Fatalf("%q: gzip accepted though neither gzip nor * is named", s)
		}
	})
}
