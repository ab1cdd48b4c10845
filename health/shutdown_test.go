package health

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// The HTTP push clients at shutdown: Board.Close releases long-polls and SSE streams at once
// (the gRPC side is in grpc_test.go). Every wait below is for an event, bounded by hangGuard
// only to catch a hang; long-polls ask to wait twice as long, so that only Close can answer
// them in time.

// answer of an HTTP request made in the background.
type result struct {
	resp *http.Response
	body []byte
	err  error
}

// getAsync makes a GET in the background and delivers its answer.
func getAsync(url string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := http.Get(url) // ended by the server, or by the test server's Close
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		ch <- result{resp: resp, body: body, err: err}
	}()
	return ch
}

var longWait = (2 * hangGuard).String()

func TestLongPollReleasedByClose(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	waiting := waitingSignal(b)
	srv := serve(t, b, hangGuard)

	polls := []<-chan result{
		getAsync(srv.URL + "/v1/health?wait=" + longWait + "&after=1"),
		getAsync(srv.URL + "/v1/health?wait=" + longWait), // after defaults to the current version
	}
	for range polls {
		waitFor(t, waiting, "a long-poll to wait")
	}
	b.Close()
	for _, poll := range polls {
		res := waitFor(t, poll, "a long-poll to answer after Close")
		require.NoError(t, res.err)
		require.Equal(t, http.StatusOK, res.resp.StatusCode)
		require.Equal(t, `W/"1"`, res.resp.Header.Get("ETag"), "the current version")
		require.True(t, res.resp.Close, "Connection: close, so that the next poll may reach another replica")
		var rep Report
		require.NoError(t, json.Unmarshal(res.body, &rep))
		require.EqualValues(t, 1, rep.Version)
		require.Len(t, rep.Providers, 3, "the body as usual")
	}

	res := waitFor(t, getAsync(srv.URL+"/v1/health?wait="+longWait+"&after=1"), "a long-poll made after Close")
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.resp.StatusCode)
	require.Equal(t, `W/"1"`, res.resp.Header.Get("ETag"))
	require.Empty(t, waiting, "a long-poll after Close does not wait")

	resp, _ := get(t, srv.URL+"/v1/health/anthropic/claude-sonnet-4-5")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "one-shot answers go on")
	require.False(t, resp.Close)
	resp, _ = get(t, srv.URL+"/v1/health")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// shutdownEvent reads the next event, requires it to be the final shutdown event, and returns
// its version.
func shutdownEvent(tb testing.TB, s sseReader) uint64 {
	tb.Helper()
	ev := s.next(tb)
	require.Equal(tb, "shutdown", ev.event, "%+v", ev)
	require.Empty(tb, ev.id, "no id: Last-Event-ID stays the last change")
	var sv ShutdownView
	require.NoError(tb, json.Unmarshal([]byte(ev.data), &sv))
	require.NotEmpty(tb, sv.Reason)
	return sv.Version
}

// end requires the stream to end (EOF) with nothing more on it.
func (s sseReader) end(tb testing.TB) {
	tb.Helper()
	rest, err := io.ReadAll(s.r)
	require.NoError(tb, err, "the stream ends cleanly")
	require.Empty(tb, string(rest))
}

func TestStreamEndsOnClose(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	srv := serve(t, b, hangGuard) // no heartbeat within the test
	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	require.Equal(t, "snapshot", s.next(t).event)
	resumed, stop2 := openStream(t, srv.URL+"/v1/health/stream", "1")
	defer stop2()

	statuses[2].State = detectors.StateDegraded
	b.Update(statuses, []detectors.Transition{{Series: statuses[2].Series, From: detectors.StateDown, To: detectors.StateDegraded}})
	require.Equal(t, "2", s.next(t).id)
	require.Equal(t, "2", resumed.next(t).id)

	// A change just before Close is delivered before the shutdown event.
	statuses[3].State = detectors.StateDown
	b.Update(statuses, []detectors.Transition{{Series: statuses[3].Series, From: detectors.StateHealthy, To: detectors.StateDown}})
	b.Close()
	for _, r := range []sseReader{s, resumed} {
		ev := r.next(t)
		require.Equal(t, []string{"change", "3"}, []string{ev.event, ev.id})
		require.EqualValues(t, 3, shutdownEvent(t, r), "the last version the stream delivered")
		r.end(t)
	}

	late, stop3 := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop3()
	require.EqualValues(t, 3, shutdownEvent(t, late), "a stream opened after Close gets the shutdown event alone")
	late.end(t)
}

// TestHTTPShutdownAfterClose is the daemon's order: Close, then the server's graceful Shutdown,
// which waits for active requests, returns while a stream and a long-poll were attached.
func TestHTTPShutdownAfterClose(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	waiting := waitingSignal(b)
	srv := serve(t, b, hangGuard)
	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	require.Equal(t, "snapshot", s.next(t).event)
	poll := getAsync(srv.URL + "/v1/health?wait=" + longWait + "&after=1")
	waitFor(t, waiting, "the long-poll to wait")

	b.Close()
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		shut <- srv.Config.Shutdown(ctx)
	}()
	require.EqualValues(t, 1, shutdownEvent(t, s))
	s.end(t)
	res := waitFor(t, poll, "the long-poll to answer")
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.resp.StatusCode)
	err := waitFor(t, shut, "Shutdown to return")
	require.False(t, errors.Is(err, context.DeadlineExceeded), "Shutdown waited for a push client")
	require.NoError(t, err)
}
