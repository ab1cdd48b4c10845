package receiver

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// admissionUnderTest is a budget of 100 bytes, 2 waiters, waiting at most a second.
func admissionUnderTest(shed func() bool) *Admission {
	return NewAdmission(AdmissionOptions{MaxBytesInFlight: 100, MaxWaiters: 2, MaxWait: time.Second, Shed: shed})
}

// acquireAsync starts acquiring n on a ticket of its own; the result comes on the channel.
func acquireAsync(ctx context.Context, a *Admission, n int64) (*ticket, <-chan error) {
	t := &ticket{a: a}
	done := make(chan error, 1)
	go func() { done <- t.charge(ctx, n) }()
	return t, done
}

func TestAdmissionWithinBudgetIsImmediate(t *testing.T) {
	t.Parallel()
	a := admissionUnderTest(nil)
	t1, t2 := &ticket{a: a}, &ticket{a: a}
	require.NoError(t, t1.charge(context.Background(), 60))
	require.NoError(t, t2.charge(context.Background(), 40))
	require.Equal(t, int64(100), a.InFlight())
	t1.release()
	t1.release() // twice is harmless
	t2.release()
	require.Zero(t, a.InFlight())
	require.Equal(t, int64(100), a.snapshot().peak)
}

func TestAdmissionWaitsInOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := admissionUnderTest(nil)
		ctx := context.Background()
		holder := &ticket{a: a}
		require.NoError(t, holder.charge(ctx, 90))

		big, bigDone := acquireAsync(ctx, a, 50)
		synctest.Wait()
		small, smallDone := acquireAsync(ctx, a, 5) // would fit, but waits behind big
		synctest.Wait()
		require.Equal(t, 2, a.Waiters())
		require.Empty(t, bigDone)
		require.Empty(t, smallDone, "a small request does not overtake the one at the head of the line")

		holder.refund(45) // 45 in flight: big fits, then small
		synctest.Wait()
		require.NoError(t, <-bigDone)
		require.NoError(t, <-smallDone)
		require.Equal(t, int64(100), a.InFlight())
		for _, tk := range []*ticket{holder, big, small} {
			tk.release()
		}
		require.Zero(t, a.InFlight())
		require.Zero(t, a.Waiters())
	})
}

func TestAdmissionGrowthSkipsTheLine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := admissionUnderTest(nil)
		ctx := context.Background()
		admitted := &ticket{a: a}
		require.NoError(t, admitted.charge(ctx, 50))
		_, waiting := acquireAsync(ctx, a, 80)
		synctest.Wait()
		require.NoError(t, admitted.charge(ctx, 30), "a request already admitted grows when it fits, ahead of the line")
		admitted.release()
		synctest.Wait()
		require.NoError(t, <-waiting)
	})
}

func TestAdmissionRefuses(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := admissionUnderTest(nil)
		ctx := context.Background()
		holder := &ticket{a: a}
		require.NoError(t, holder.charge(ctx, 100))

		start := time.Now()
		w1, done1 := acquireAsync(ctx, a, 10)
		_, done2 := acquireAsync(ctx, a, 10)
		synctest.Wait()
		third := &ticket{a: a}
		err := third.charge(ctx, 10)
		require.ErrorIs(t, err, errOverloaded, "beyond MaxWaiters a request is refused at once")
		require.True(t, overloaded(err))
		require.Equal(t, start, time.Now(), "without waiting")

		err = third.charge(ctx, 101)
		require.ErrorIs(t, err, errOverloaded, "a request larger than the whole budget can never fit")

		require.ErrorIs(t, <-done1, errOverloaded, "a waiter is refused after MaxWait")
		require.ErrorIs(t, <-done2, errOverloaded)
		require.Equal(t, time.Second, time.Since(start))
		require.Zero(t, w1.held)
		require.Zero(t, a.Waiters())
		require.Equal(t, int64(100), a.InFlight(), "the refused hold nothing")
		holder.release()
		require.Zero(t, a.InFlight())
		st := a.snapshot()
		require.Equal(t, int64(4), st.refused)
		require.Equal(t, int64(2), st.waited)
	})
}

func TestAdmissionClientCancellationLeavesTheLine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		a := admissionUnderTest(nil)
		holder := &ticket{a: a}
		require.NoError(t, holder.charge(context.Background(), 60))

		ctx, cancel := context.WithCancel(context.Background())
		head, headDone := acquireAsync(ctx, a, 50) // at the head, does not fit
		synctest.Wait()
		_, nextDone := acquireAsync(context.Background(), a, 30) // would fit, waits behind head
		synctest.Wait()
		require.Empty(t, nextDone)

		cancel() // the client goes away
		synctest.Wait()
		err := <-headDone
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, overloaded(err))
		require.Zero(t, head.held)
		require.NoError(t, <-nextDone, "the head leaving lets the next one in")
		require.Equal(t, int64(90), a.InFlight())
	})
}

func TestAdmissionShed(t *testing.T) {
	t.Parallel()
	shedding := false
	a := admissionUnderTest(func() bool { return shedding })
	ctx := context.Background()
	admitted := &ticket{a: a}
	require.NoError(t, admitted.charge(ctx, 10))

	shedding = true
	fresh := &ticket{a: a}
	err := fresh.charge(ctx, 10)
	require.ErrorIs(t, err, errShedding, "new requests are refused at once while Shed says so")
	require.True(t, overloaded(err))
	require.NoError(t, admitted.charge(ctx, 10), "a request already admitted finishes")
	require.Equal(t, int64(1), a.snapshot().shed)

	shedding = false
	require.NoError(t, fresh.charge(ctx, 10))
	admitted.release()
	fresh.release()
	require.Zero(t, a.InFlight())
}

func TestAdmissionNilAndUnboundedAdmitEverything(t *testing.T) {
	t.Parallel()
	for _, a := range []*Admission{nil, NewAdmission(AdmissionOptions{})} {
		tk := ticket{a: a}
		require.NoError(t, tk.charge(context.Background(), 1<<40))
		tk.release()
	}
}

func TestOverloadedClassifies(t *testing.T) {
	t.Parallel()
	require.True(t, overloaded(errOverloaded))
	require.True(t, overloaded(errShedding))
	require.True(t, overloaded(context.DeadlineExceeded))
	require.False(t, overloaded(errTooLarge))
	require.False(t, overloaded(errors.New("gzip: invalid header")))
}

// TestAdmissionMetrics: the budget, bytes in flight, waiters and refusals are on /metrics.
func TestAdmissionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	a := NewAdmission(AdmissionOptions{MaxBytesInFlight: 100, MaxWaiters: 0, MaxWait: time.Second})
	m.WatchAdmission(a)
	require.NoError(t, a.acquire(context.Background(), 60, false))
	require.ErrorIs(t, a.acquire(context.Background(), 60, false), errOverloaded)
	value := func(name string) float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == name {
				if g := mf.GetMetric()[0].GetGauge(); g != nil {
					return g.GetValue()
				}
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	require.Equal(t, 100.0, value("outagewatch_ingest_admission_budget_bytes"))
	require.Equal(t, 60.0, value("outagewatch_ingest_admission_bytes_in_flight"))
	require.Equal(t, 1.0, value("outagewatch_ingest_admission_refused_total"))
	require.Equal(t, 0.0, value("outagewatch_ingest_admission_waiters"))
	a.release(60)
	require.Equal(t, 0.0, value("outagewatch_ingest_admission_bytes_in_flight"))
}
