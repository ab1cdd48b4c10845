package statuspage

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// fakeQuery is an incident store in memory; err, when set, is every call's answer. set changes
// it while the page reads it.
type fakeQuery struct {
	mu        sync.Mutex
	incidents []incidents.Incident // any order; List sorts newest first
	events    map[int64][]incidents.Event
	err       error
}

var _ incidents.Query = (*fakeQuery)(nil)

func (q *fakeQuery) set(incs []incidents.Incident, events map[int64][]incidents.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.incidents, q.events = incs, events
}

func (q *fakeQuery) List(ctx context.Context, f incidents.Filter) ([]incidents.Incident, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	var out []incidents.Incident
	for _, inc := range q.incidents {
		switch f.State {
		case "active":
			if !inc.State.Active() {
				continue
			}
		case "":
		default:
			if string(inc.State) != f.State {
				continue
			}
		}
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b incidents.Incident) int { return int(b.ID - a.ID) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, ctx.Err()
}

func (q *fakeQuery) Get(_ context.Context, id int64) (incidents.Incident, []incidents.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return incidents.Incident{}, nil, q.err
	}
	for _, inc := range q.incidents {
		if inc.ID == id {
			return inc, q.events[id], nil
		}
	}
	return incidents.Incident{}, nil, incidents.ErrNotFound
}

// fakeSilences lists fixed silences, or fails with err.
func fakeSilences(list []incidents.Silence, err error) SilenceListerFunc {
	return func(context.Context, time.Time) ([]incidents.Silence, error) { return list, err }
}
