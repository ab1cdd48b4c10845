package leadtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// DefaultWindow is Options.Window's default: how far apart our detection and the provider's post
// may lie for the post to be linked to the incident.
const DefaultWindow = 2 * time.Hour

const (
	// recent is how long after its resolution a provider's incident is still linked: the pages
	// list those resolved in the last 24 hours.
	recent = 24 * time.Hour
	// lookback is how long before the oldest post our incidents are read: an incident that
	// opened earlier and is still active is read as well.
	lookback = 48 * time.Hour
	// listLimit is the most incidents of a provider read per list (incidents.Filter's maximum).
	listLimit = 500
	// forget is how old a detection must be for the cache to drop it.
	forget = 4 * 24 * time.Hour
)

// Incidents reads the incident store: the daemon's store (incidents.Query). Implementations are
// safe for concurrent use; the returned values are the caller's. Errors are retryable: the next
// Update reads again.
type Incidents interface {
	List(ctx context.Context, f incidents.Filter) ([]incidents.Incident, error)
	Get(ctx context.Context, id int64) (incidents.Incident, []incidents.Event, error)
}

// Writer records a change of an incident: the daemon's store, or in a cluster a writer that
// writes on the leader only. Errors are retryable: nothing is recorded as linked until Apply
// succeeded, so the next Update tries again.
type Writer interface {
	Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error)
}

// WriterFunc adapts a function to Writer.
type WriterFunc func(ctx context.Context, c incidents.Change) (incidents.Incident, error)

// Apply calls f.
func (f WriterFunc) Apply(ctx context.Context, c incidents.Change) (incidents.Incident, error) {
	return f(ctx, c)
}

// Options are a Linker's dependencies and settings.
type Options struct {
	// Incidents and Writer are required: the daemon passes its store to both (the cluster
	// passes a leader-only Writer).
	Incidents Incidents
	Writer    Writer
	// Registerer registers outagewatch_provider_status_lead_seconds; nil registers nowhere.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Window is how far apart our detection and the provider's post may lie (either way) for the
	// post to be linked, and how long after our resolution a post still is; default
	// DefaultWindow.
	Window time.Duration
}

// Linker links the incidents on the providers' status pages to our provider incidents, as the
// package documentation says. Its methods are safe for concurrent use.
type Linker struct {
	incidents Incidents
	writer    Writer
	m         *metrics
	logger    *slog.Logger
	now       func() time.Time
	window    time.Duration

	// mu serialises Update, so that two pages read at once (or one read twice) cannot link one
	// post twice, and guards detected.
	mu sync.Mutex
	// detected caches the detection time of our incidents (their opening event's, which never
	// changes), so that each poll does not read every timeline again.
	detected map[int64]time.Time
}

// New validates o and returns a Linker. It starts nothing.
func New(o Options) (*Linker, error) {
	var errs []error
	if o.Incidents == nil {
		errs = append(errs, errors.New("incidents: must be set"))
	}
	if o.Writer == nil {
		errs = append(errs, errors.New("writer: must be set"))
	}
	if o.Window < 0 {
		errs = append(errs, fmt.Errorf("window: must not be negative, got %s", o.Window))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("leadtime: %w", err)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	return &Linker{
		incidents: o.Incidents, writer: o.Writer, m: newMetrics(o.Registerer),
		logger: o.Logger.With("component", "leadtime"), now: o.Now, window: o.Window,
		detected: map[int64]time.Time{},
	}, nil
}

// Update links the incidents on st's page, read after a poll of it, to our provider incidents
// of st.Provider, and records the provider's resolution of those linked. It reads what is
// stored each time, so that repeated polls, a restart or two daemons never record a post twice.
// Each post is linked to at most one incident, and an incident to at most one post (the first).
func (l *Linker) Update(ctx context.Context, st vendorstatus.Status) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	posts := relevant(st.Incidents, now)
	if st.Provider == "" || len(posts) == 0 {
		return nil
	}
	ours, err := l.candidates(ctx, st.Provider, posts[0].CreatedAt)
	if err != nil {
		return fmt.Errorf("update %s: %w", st.Provider, err)
	}
	var errs []error
	for _, p := range posts {
		if err := l.update(ctx, now, p, ours); err != nil {
			errs = append(errs, fmt.Errorf("update %s incident %s: %w", st.Provider, p.ID, err))
		}
	}
	l.prune(now)
	return errors.Join(errs...)
}

// update links post p to one of ours unless one is linked to it already, then records its
// resolution.
func (l *Linker) update(ctx context.Context, now time.Time, p vendorstatus.Incident, ours []*incidents.Incident) error {
	inc := linkedTo(p.ID, ours)
	if inc == nil {
		var detected time.Time
		var err error
		if inc, detected, err = l.match(ctx, p, ours); err != nil || inc == nil {
			return err
		}
		if err := l.link(ctx, now, inc, detected, p); err != nil {
			return err
		}
	}
	return l.resolve(ctx, now, inc, p)
}

// link records p on inc with its vendor_posted event, and observes the lead time.
func (l *Linker) link(ctx context.Context, now time.Time, inc *incidents.Incident, detected time.Time, p vendorstatus.Incident) error {
	stored, err := l.writer.Apply(ctx, incidents.Change{
		IncidentID: inc.ID, At: now,
		Vendor: &incidents.VendorPost{ID: p.ID, Name: p.Name, URL: p.URL, PostedAt: p.CreatedAt},
		Events: []incidents.EventSpec{vendorEvent(incidents.EventVendorPosted, p.CreatedAt, *inc)},
	})
	if err != nil {
		return fmt.Errorf("link to incident %d: %w", inc.ID, err)
	}
	if stored.ID != inc.ID || stored.Vendor.ID != p.ID {
		// A writer that does not write (a follower's) or another daemon's link won: the
		// lead time is someone else's to observe.
		return nil
	}
	*inc = stored
	lead := p.CreatedAt.Sub(detected)
	l.m.lead.Observe(lead.Seconds())
	l.logger.Info("provider post linked", "incident_id", inc.ID, "provider", inc.Provider,
		"vendor_incident", p.ID, "lead_seconds", lead.Seconds())
	return nil
}

// resolve records the resolution of p, once, on inc, which is linked to it.
func (l *Linker) resolve(ctx context.Context, now time.Time, inc *incidents.Incident, p vendorstatus.Incident) error {
	if p.Open() || !inc.Vendor.ResolvedAt.IsZero() {
		return nil
	}
	stored, err := l.writer.Apply(ctx, incidents.Change{
		IncidentID: inc.ID, At: now,
		Vendor: &incidents.VendorPost{ID: p.ID, ResolvedAt: p.ResolvedAt},
		Events: []incidents.EventSpec{vendorEvent(incidents.EventVendorResolved, p.ResolvedAt, *inc)},
	})
	if err != nil {
		return fmt.Errorf("record resolution on incident %d: %w", inc.ID, err)
	}
	if stored.ID == inc.ID {
		*inc = stored
	}
	l.logger.Info("provider post resolved", "incident_id", inc.ID, "provider", inc.Provider, "vendor_incident", p.ID)
	return nil
}

// vendorEvent is the event of kind (vendor_posted or vendor_resolved) at at on inc, replied in
// its thread and shown on its root.
func vendorEvent(kind incidents.EventKind, at time.Time, inc incidents.Incident) incidents.EventSpec {
	return incidents.EventSpec{
		Event: incidents.Event{
			At: at, Kind: kind, Provider: inc.Provider, Actor: incidents.Actor, Severity: inc.Severity,
		},
		Notify: []string{incidents.NotifyEvent, incidents.NotifyUpdate},
	}
}
