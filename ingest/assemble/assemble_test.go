package assemble

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

func TestRingKeepsOrderAcrossGrowthAndShrink(t *testing.T) {
	var q ring[int]
	next := 0
	for round := 0; round < 3; round++ {
		for i := 0; i < 5000; i++ {
			q.push(i + round*5000)
			if i%3 == 0 {
				require.Equal(t, next, q.pop())
				next++
			}
		}
		for q.len() > 10 {
			require.Equal(t, next, q.peek())
			require.Equal(t, next, q.pop())
			next++
		}
		q.shrink()
		require.LessOrEqual(t, len(q.buf), 1024, "a drained queue gives its memory back")
	}
	for q.len() > 0 {
		require.Equal(t, next, q.pop())
		next++
	}
	require.Equal(t, 15000, next)
}

func TestRecentSetRemembersForTTL(t *testing.T) {
	t0 := time.Unix(1_782_000_000, 0)
	s := newRecentSet(10 * time.Second)
	s.expire(t0)
	k := normalize.SpanKey{1, 2, 3}
	s.add(t0.Add(9*time.Second), k, recentEmitted)
	require.True(t, s.has(k, recentEmitted))
	require.False(t, s.has(k, recentParent), "flags are separate")

	for _, d := range []time.Duration{10, 15, 18} {
		s.expire(t0.Add(9*time.Second + d*time.Second))
		require.True(t, s.has(k, recentEmitted), "remembered %v after", d)
	}
	s.expire(t0.Add(31 * time.Second))
	require.False(t, s.has(k, recentEmitted), "forgotten within 2·ttl")

	s.add(t0.Add(40*time.Second), k, recentParent)
	s.expire(t0.Add(100 * time.Second))
	require.False(t, s.has(k, recentParent), "a long pause forgets everything")
}

func TestRecentSetIsBounded(t *testing.T) {
	now := time.Unix(1_782_000_000, 0)
	s := newRecentSet(time.Hour)
	for i := 0; i < 3*maxRecentSpans; i++ {
		var k normalize.SpanKey
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		s.add(now, k, recentEmitted)
	}
	require.LessOrEqual(t, len(s.cur)+len(s.old), 2*maxRecentSpans)
	var last normalize.SpanKey
	i := 3*maxRecentSpans - 1
	last[0], last[1], last[2] = byte(i), byte(i>>8), byte(i>>16)
	require.True(t, s.has(last, recentEmitted), "the newest keys are kept")
}
