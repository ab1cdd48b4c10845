package leadtime

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// Lead returns the lead time outagewatch gave on inc: the provider's post minus our detection
// (the opening event's time in timeline, else the incident's opening), negative when the
// provider posted first. ok is false while no post is linked.
func Lead(inc incidents.Incident, timeline []incidents.Event) (lead time.Duration, ok bool) {
	if !inc.Vendor.Linked() || inc.Vendor.PostedAt.IsZero() {
		return 0, false
	}
	return inc.Vendor.PostedAt.Sub(detection(inc, timeline)), true
}

// detection returns when we detected inc: its opening event's time, else its opening time.
func detection(inc incidents.Incident, timeline []incidents.Event) time.Time {
	for _, ev := range timeline {
		if ev.Kind == incidents.EventOpened {
			return ev.At
		}
	}
	return inc.OpenedAt
}

// relevant returns the posts of a page to link, oldest first: those open, or resolved in the
// last day, with an ID and a posting time.
func relevant(posts []vendorstatus.Incident, now time.Time) []vendorstatus.Incident {
	var out []vendorstatus.Incident
	for _, p := range posts {
		if p.ID == "" || p.CreatedAt.IsZero() || (!p.Open() && p.ResolvedAt.Before(now.Add(-recent))) {
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b vendorstatus.Incident) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// candidates returns our provider incidents of provider that a post since oldest may be linked
// to, or is: those opened since lookback before it, and those still active.
func (l *Linker) candidates(ctx context.Context, provider string, oldest time.Time) ([]*incidents.Incident, error) {
	recent, err := l.incidents.List(ctx, incidents.Filter{Provider: provider, Since: oldest.Add(-lookback), Limit: listLimit})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	active, err := l.incidents.List(ctx, incidents.Filter{Provider: provider, State: "active", Limit: listLimit})
	if err != nil {
		return nil, fmt.Errorf("list active incidents: %w", err)
	}
	seen := map[int64]bool{}
	var out []*incidents.Incident
	for _, inc := range append(recent, active...) {
		if inc.Caller != "" || seen[inc.ID] {
			continue
		}
		seen[inc.ID] = true
		out = append(out, &inc)
	}
	return out, nil
}

// linkedTo returns the incident of ours linked to post id, or nil.
func linkedTo(id string, ours []*incidents.Incident) *incidents.Incident {
	for _, inc := range ours {
		if inc.Vendor.ID == id {
			return inc
		}
	}
	return nil
}

// match returns the incident of ours to link post p to, and its detection time; nil when none
// fits. An incident linked to another post is left as is. Among several, one whose models are
// among the post's wins, then the one detected closest to the post, then the oldest.
func (l *Linker) match(ctx context.Context, p vendorstatus.Incident, ours []*incidents.Incident) (*incidents.Incident, time.Time, error) {
	type fit struct {
		inc      *incidents.Incident
		detected time.Time
		models   bool
		distance time.Duration
	}
	var fits []fit
	for _, inc := range ours {
		if inc.Vendor.Linked() {
			continue
		}
		detected, err := l.detection(ctx, inc)
		if err != nil {
			return nil, time.Time{}, err
		}
		if l.fits(*inc, detected, p.CreatedAt) {
			fits = append(fits, fit{inc, detected, sharesModel(inc.Models, p.Models), p.CreatedAt.Sub(detected).Abs()})
		}
	}
	if len(fits) == 0 {
		return nil, time.Time{}, nil
	}
	best := slices.MinFunc(fits, func(a, b fit) int {
		if a.models != b.models {
			if a.models {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.distance, b.distance), cmp.Compare(a.inc.ID, b.inc.ID))
	})
	return best.inc, best.detected, nil
}

// fits reports whether a post at posted may be of incident inc detected at detected: we
// detected it within the window of the post, either way, or it was under way when the provider
// posted (from its opening until the window after its resolution).
func (l *Linker) fits(inc incidents.Incident, detected, posted time.Time) bool {
	if posted.Sub(detected).Abs() <= l.window {
		return true
	}
	if posted.Before(inc.OpenedAt) {
		return false
	}
	return inc.State.Active() || inc.ResolvedAt.IsZero() || !posted.After(inc.ResolvedAt.Add(l.window))
}

// detection returns when we detected inc, from the cache or its timeline.
func (l *Linker) detection(ctx context.Context, inc *incidents.Incident) (time.Time, error) {
	if at, ok := l.detected[inc.ID]; ok {
		return at, nil
	}
	stored, timeline, err := l.incidents.Get(ctx, inc.ID)
	if err != nil {
		return time.Time{}, fmt.Errorf("get incident %d: %w", inc.ID, err)
	}
	at := detection(stored, timeline)
	l.detected[inc.ID] = at
	return at, nil
}

// prune forgets the detections too old for any post to be linked to.
func (l *Linker) prune(now time.Time) {
	for id, at := range l.detected {
		if at.Before(now.Add(-forget)) {
			delete(l.detected, id)
		}
	}
}

// sharesModel reports whether ours and theirs have a model in common.
func sharesModel(ours, theirs []string) bool {
	for _, m := range ours {
		if slices.Contains(theirs, m) {
			return true
		}
	}
	return false
}
