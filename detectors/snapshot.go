package detectors

import (
	"bytes"
	"compress/gzip"
	"encoding/gob"
	"fmt"
	"io"
	"slices"
	"time"
)

// snapshotVersion is bumped whenever the encoding of baselines changes; Restore refuses other
// versions rather than misread them.
const snapshotVersion = 1

type snapshot struct {
	Version int
	Series  []seriesSnapshot
}

// seriesSnapshot is what a series learned and must not forget across a restart: its baselines,
// its traffic, and how long it has been seen. Alarms are not kept: a restarted engine judges
// afresh from its baselines.
type seriesSnapshot struct {
	Provider, Model     string
	Calls               uint64
	FirstSeen, LastCall time.Time
	Err, Trunc, Rate    rateBaseline
	TTFT, Latency       sketch
	Peak                peakRate
	CallRate            decayed
}

// Snapshot encodes the baselines of every series (gob, gzip-compressed), so that a restarted
// daemon resumes instead of starting cold.
func (e *Engine) Snapshot() ([]byte, error) {
	snap := snapshot{Version: snapshotVersion, Series: make([]seriesSnapshot, 0, len(e.ordered))}
	for _, s := range e.ordered {
		snap.Series = append(snap.Series, seriesSnapshot{
			Provider: s.key.Provider, Model: s.key.Model,
			Calls: s.calls, FirstSeen: s.firstSeen, LastCall: s.lastCall,
			Err: s.errBase, Trunc: s.truncBase, Rate: s.rateBase,
			TTFT: s.ttftBase, Latency: s.latBase,
			Peak: s.peak, CallRate: s.callRate,
		})
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := gob.NewEncoder(zw).Encode(&snap); err != nil {
		return nil, fmt.Errorf("encode baselines: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress baselines: %w", err)
	}
	return buf.Bytes(), nil
}

// maxSnapshotBytes bounds what Restore decompresses.
const maxSnapshotBytes = 1 << 30

// Limits bound the series Restore brings back.
type Limits struct {
	// MaxProviders and MaxModelsPerProvider are ingest's caps; 0 is no limit.
	MaxProviders, MaxModelsPerProvider int
}

// Restore loads baselines from a Snapshot into an engine that has seen no calls. Restored series
// start unknown; their next call or tick judges them with the restored baselines, without a new
// warm-up. It brings back at most lim's series, the most recently called first: ingest's caps
// start empty in each process, so without this every restart could add a full set of series to
// the ones saved (the engine holds at most twice the caps, restored and new).
func (e *Engine) Restore(data []byte, lim Limits) error {
	if len(e.ordered) > 0 {
		return fmt.Errorf("restore baselines: the engine already has %d series", len(e.ordered))
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("restore baselines: %w", err)
	}
	var snap snapshot
	if err := gob.NewDecoder(io.LimitReader(zr, maxSnapshotBytes)).Decode(&snap); err != nil {
		return fmt.Errorf("decode baselines: %w", err)
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("restore baselines: snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	models := make(map[string]int)
	slices.SortStableFunc(snap.Series, func(a, b seriesSnapshot) int { return b.LastCall.Compare(a.LastCall) })
	for _, ss := range snap.Series {
		if ss.Model == "" {
			continue // providers are created with their models
		}
		n, known := models[ss.Provider]
		if !known && lim.MaxProviders > 0 && len(models) >= lim.MaxProviders ||
			lim.MaxModelsPerProvider > 0 && n >= lim.MaxModelsPerProvider {
			continue
		}
		models[ss.Provider] = n + 1
		e.lookup(SeriesKey{Provider: ss.Provider, Model: ss.Model})
	}
	for _, ss := range snap.Series {
		var s *series
		if ss.Model == "" {
			s = e.providers[ss.Provider]
		} else {
			s = e.series[SeriesKey{Provider: ss.Provider, Model: ss.Model}]
		}
		if s == nil {
			continue
		}
		s.calls, s.firstSeen, s.lastCall, s.since = ss.Calls, ss.FirstSeen, ss.LastCall, ss.LastCall
		s.errBase, s.truncBase, s.rateBase = ss.Err, ss.Trunc, ss.Rate
		s.ttftBase, s.latBase = ss.TTFT, ss.Latency
		s.peak, s.callRate = ss.Peak, ss.CallRate
		s.agedAt = ss.CallRate.At
		s.warm = s.calls >= uint64(e.cfg.WarmupCalls) && ss.LastCall.Sub(ss.FirstSeen) >= e.cfg.WarmupAge
	}
	return nil
}
