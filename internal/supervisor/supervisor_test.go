package supervisor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTest() (*Supervisor, *logBuffer) {
	logs := &logBuffer{}
	return New(slog.New(slog.NewTextHandler(logs, nil))), logs
}

// untilCancelled is a well-behaved part: it runs until its context ends.
func untilCancelled(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func TestCancellationRunsStepsInOrderAndReturnsNil(t *testing.T) {
	s, logs := newTest()
	a := s.Go("a", untilCancelled)
	b := s.Go("b", untilCancelled)
	var order []string
	s.OnStop("stop b", time.Second, func(ctx context.Context) error { order = append(order, "b"); return b.Stop(ctx) })
	s.OnStop("stop a", time.Second, func(ctx context.Context) error { order = append(order, "a"); return a.Stop(ctx) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.Run(ctx))
	require.Equal(t, []string{"b", "a"}, order)
	require.Contains(t, logs.String(), `step="stop b"`)
	require.Less(t, strings.Index(logs.String(), `step="stop b"`), strings.Index(logs.String(), `step="stop a"`))
}

func TestFailingPartStopsTheRestWithItsError(t *testing.T) {
	s, logs := newTest()
	boom := errors.New("listen tcp :4317: address already in use")
	s.Go("ingest", func(context.Context) error { return boom })
	other := s.Go("engine", untilCancelled)
	stepped := false
	s.OnStop("engine", time.Second, func(ctx context.Context) error { stepped = true; return other.Stop(ctx) })
	err := s.Run(context.Background()) // never cancelled: only the failure ends it
	require.ErrorIs(t, err, boom)
	var f *Failure
	require.ErrorAs(t, err, &f)
	require.Equal(t, "ingest", f.Part)
	require.True(t, stepped, "shutdown steps run after a failure")
	require.Equal(t, 1, strings.Count(logs.String(), "address already in use"), "the failure is logged once:\n%s", logs)
}

func TestPartThatFinishesStopsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTest()
		finished := make(chan struct{})
		s.Go("opener", func(context.Context) error { close(finished); return nil })
		s.Go("engine", untilCancelled)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- s.Run(ctx) }()
		<-finished
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Run returned when a part finished: %v", err)
		default:
		}
		cancel()
		require.NoError(t, <-errc)
	})
}

func TestOverrunningStepIsLeftBehindAndTheNextRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, logs := newTest()
		stuck := make(chan struct{})
		defer close(stuck)
		s.OnStop("listeners", 2*time.Second, func(context.Context) error { <-stuck; return nil }) // ignores its context
		saved := false
		s.OnStop("baselines", time.Second, func(context.Context) error { saved = true; return nil })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		err := s.Run(ctx)
		require.ErrorContains(t, err, "shutdown step listeners: overran its budget of 2s")
		require.True(t, saved, "a slow step never skips the next")
		require.Equal(t, 2*time.Second, time.Since(start), "the overrun costs exactly its budget")
		require.Contains(t, logs.String(), `msg="shutdown step failed" component=supervisor step=listeners`)
	})
}

func TestPartsNoStepStoppedAreStoppedAtTheEnd(t *testing.T) {
	s, _ := newTest()
	stopped := make(chan struct{})
	s.Go("history", func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.Run(ctx))
	select {
	case <-stopped:
	default:
		t.Fatal("part still running after Run returned")
	}
}

func TestPartErrorDuringItsStopIsReturned(t *testing.T) {
	s, _ := newTest()
	bad := errors.New("drain: queue lost")
	p := s.Go("pipeline", func(ctx context.Context) error { <-ctx.Done(); return bad })
	s.OnStop("ingest queue", time.Second, p.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.Run(ctx), bad)
}
