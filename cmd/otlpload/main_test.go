package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testSpansPerRequest = 50

// runJSON runs otlpload with -json against endpoint for d and returns the
// decoded report and run's error.
func runJSON(tb testing.TB, d time.Duration, protocol, endpoint string, extra ...string) (report, error) {
	tb.Helper()
	args := append([]string{
		"-protocol", protocol,
		"-endpoint", endpoint,
		"-duration", d.String(),
		"-spans-per-request", strconv.Itoa(testSpansPerRequest),
		"-requests", "4",
		"-connections", "2",
		"-llm-fraction", "0.5",
		"-json",
	}, extra...)
	var out bytes.Buffer
	err := run(tb.Context(), args, &out)
	var rep report
	require.NoError(tb, json.Unmarshal(out.Bytes(), &rep), "output %q, run error %v", out.String(), err)
	require.Equal(tb, 1, strings.Count(out.String(), "\n"), "one JSON line")
	return rep, err
}

// runAnswered is runJSON for about 300ms, repeated with longer durations
// while fewer than minAnswered requests got an answer: on a loaded machine
// (the race detector, parallel fuzzing) 300ms may not be enough for the
// first answers, and the assertions need a few.
func runAnswered(tb testing.TB, minAnswered int64, protocol, endpoint string, extra ...string) (report, error) {
	tb.Helper()
	for d := 300 * time.Millisecond; ; d *= 3 {
		rep, err := runJSON(tb, d, protocol, endpoint, extra...)
		answered := rep.RequestsOK + rep.RequestsRefused + rep.RequestsFailed
		if answered >= minAnswered || d > 5*time.Second {
			require.GreaterOrEqual(tb, rep.DurationSeconds, d.Seconds()*0.99, "ran for the whole duration")
			return rep, err
		}
		tb.Logf("only %d answers in %s, retrying longer", answered, d)
	}
}

func TestRunCountsAndRefusals(t *testing.T) {
	t.Parallel()
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name     string
		protocol string
		start    func(testing.TB, *fakeReceiver) string
		extra    []string
		wantCPU  bool
	}{
		{"grpc", protocolGRPC, startGRPC, []string{"-pid", pid}, true},
		{"http", protocolHTTP, startHTTP, []string{"-pid", pid}, true},
		{"http gzip", protocolHTTP, startHTTP, []string{"-gzip"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeReceiver{}
			// Any 6 consecutive answers include a refusal and a partial
			// success (see refuseEvery, rejectEvery).
			rep, err := runAnswered(t, 6, tt.protocol, tt.start(t, f), tt.extra...)
			require.NoError(t, err)

			require.Positive(t, rep.RequestsOK)
			require.Positive(t, rep.RequestsRefused, "refusals are recognised")
			require.Zero(t, rep.RequestsFailed, "last error: %s", rep.LastError)
			require.Positive(t, rep.SpansRejected, "partial success is read")
			require.Equal(t, rep.RequestsOK*testSpansPerRequest-rep.SpansRejected, rep.SpansAccepted)
			// The fake may also have accepted requests whose answers came
			// after the deadline.
			require.LessOrEqual(t, rep.SpansAccepted, f.accepted.Load())
			require.Positive(t, rep.SpansPerSecond)
			if tt.wantCPU {
				require.NotNil(t, rep.DaemonCPUSeconds)
				require.NotNil(t, rep.CPUPerMillionSpans)
			} else {
				require.Nil(t, rep.DaemonCPUSeconds)
			}
		})
	}
}

func TestRunPermanentFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		protocol string
		start    func(testing.TB, *fakeReceiver) string
		wantErr  string
	}{
		{"grpc invalid argument", protocolGRPC, startGRPC, "InvalidArgument"},
		{"http 400", protocolHTTP, startHTTP, "http 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := runAnswered(t, 1, tt.protocol, tt.start(t, &fakeReceiver{fail: true}))
			require.ErrorContains(t, err, "no request succeeded")
			require.ErrorContains(t, err, tt.wantErr)
			require.Zero(t, rep.RequestsOK)
			require.Zero(t, rep.RequestsRefused)
			require.Positive(t, rep.RequestsFailed)
			require.Zero(t, rep.SpansAccepted)
		})
	}
}

// okOrNothingAnswered accepts a nil error, or the error of a run too short
// for the loaded machine to answer anything (the report is written anyway).
func okOrNothingAnswered(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		require.ErrorContains(tb, err, "no request succeeded (refused 0)")
	}
}

func TestRunTable(t *testing.T) {
	t.Parallel()
	endpoint := startHTTP(t, &fakeReceiver{})
	var out bytes.Buffer
	err := run(t.Context(), []string{"-protocol", "http", "-endpoint", endpoint, "-duration", "100ms", "-requests", "2", "-spans-per-request", "10"}, &out)
	okOrNothingAnswered(t, err)
	for _, want := range []string{"protocol", "http (" + endpoint + ")", "spans/request", "requests", "refused", "spans/s"} {
		require.Contains(t, out.String(), want)
	}
	require.NotContains(t, out.String(), "daemon cpu")
}

func TestRunUnreachableGRPC(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	err = run(t.Context(), []string{"-endpoint", addr, "-duration", "1h", "-requests", "1", "-spans-per-request", "1"}, &bytes.Buffer{})
	// Refused at the first attempt: the run gives up then, not after the connect timeout.
	require.ErrorContains(t, err, "not ready (state TRANSIENT_FAILURE)")
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	endpoint := startGRPC(t, &fakeReceiver{})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := run(ctx, []string{"-endpoint", endpoint, "-duration", "1h", "-requests", "2", "-spans-per-request", "10", "-json"}, &bytes.Buffer{})
	okOrNothingAnswered(t, err)
	require.Less(t, time.Since(start), time.Minute)
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-h"}, &out))
	require.Contains(t, out.String(), "-spans-per-request")
}
