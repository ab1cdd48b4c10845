package vendorstatus

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PollerOptions are the Poller's dependencies; every field may be left zero.
type PollerOptions struct {
	// Client does the requests; nil means one with Proxy: http.ProxyFromEnvironment (so
	// HTTPS_PROXY and NO_PROXY are honoured) and Config.Timeout.
	Client *http.Client
	// Registerer gets the poller's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
	// Logger gets a line when a page becomes unreadable and when it is read again; nil logs
	// nothing.
	Logger *slog.Logger
	// OnUpdate, when set, is called with the new Status after each poll of a source, from the
	// goroutine that polled it (one per source in Run), after the board was updated. It must not
	// block for long: the source's next poll waits for it.
	OnUpdate func(Status)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Poller reads the configured status pages and keeps the board up to date.
type Poller struct {
	cfg      Config
	board    *Board
	client   *http.Client
	log      *slog.Logger
	onUpdate func(Status)
	now      func() time.Time
	metrics  *metrics
	sources  []*sourceState
}

// sourceState is what the poller keeps of one source between polls.
type sourceState struct {
	mu   sync.Mutex // serialises polls of the source (Run's goroutine and Poll)
	src  Source
	docs []*document
	// last is the last status built from a good read; good says there was one.
	last Status
	good bool
	// failing is whether the last poll failed (for logging transitions only).
	failing bool
}

// NewPoller validates cfg and returns a poller that writes to board. It starts nothing.
func NewPoller(cfg Config, board *Board, o PollerOptions) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if board == nil {
		return nil, errors.New("vendorstatus: nil board")
	}
	p := &Poller{cfg: cfg, board: board, client: o.Client, log: o.Logger, onUpdate: o.OnUpdate, now: o.Now}
	if p.client == nil {
		p.client = defaultClient(cfg.Timeout)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("component", "vendorstatus")
	if p.now == nil {
		p.now = time.Now
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // registered nowhere anyone gathers
	}
	p.metrics = newMetrics(reg)
	for _, src := range cfg.sources() {
		p.sources = append(p.sources, &sourceState{src: src, docs: documentsOf(src)})
		p.metrics.precreate(src.Provider)
	}
	return p, nil
}

// defaultClient honours the proxy environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and accepts
// gzip (the transport asks for it and decompresses).
func defaultClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	return &http.Client{Transport: t, Timeout: timeout}
}

// Run polls every source at once, then every Interval, one goroutine per source, until ctx is
// cancelled; it returns nil then. With Enabled false it returns nil at once.
func (p *Poller) Run(ctx context.Context) error {
	if !p.cfg.Enabled {
		p.log.Info("provider status pages disabled")
		return nil
	}
	var wg sync.WaitGroup
	for _, s := range p.sources {
		wg.Go(func() { p.loop(ctx, s) })
	}
	wg.Wait()
	return nil
}

func (p *Poller) loop(ctx context.Context, s *sourceState) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		p.pollSource(ctx, s)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll polls every source once, one after the other, and returns their new statuses in the
// order of the configuration. Run does the same on its own schedule; Poll is for a refresh on
// demand and for tests.
func (p *Poller) Poll(ctx context.Context) []Status {
	out := make([]Status, 0, len(p.sources))
	for _, s := range p.sources {
		out = append(out, p.pollSource(ctx, s))
	}
	return out
}

// pollSource reads a source's documents and publishes the result. A failure makes the status
// unknown with the reason in Error, and keeps everything else of the last good read
// (Description, Components, Incidents, FetchedAt), so a reader still sees what the page said
// last, marked as not current.
func (p *Poller) pollSource(ctx context.Context, s *sourceState) Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for _, d := range s.docs {
		if err = p.fetch(ctx, s.src.Provider, d); err != nil {
			break
		}
	}
	now := p.now()
	var st Status
	if err == nil {
		st = s.build(now)
		s.last, s.good = st, true
		if s.failing {
			p.log.Info("provider status page readable again", "provider", s.src.Provider)
		}
	} else {
		st = Status{Provider: s.src.Provider, Page: s.src.Page}
		if s.good {
			st = s.last.clone()
		}
		st.Indicator, st.Error, st.CheckedAt = IndicatorUnknown, err.Error(), now
		if !s.failing {
			p.log.Warn("provider status page unreadable, will retry", "provider", s.src.Provider, "err", err)
		}
	}
	s.failing = err != nil
	p.board.Set(st)
	p.metrics.observe(st)
	if p.onUpdate != nil {
		p.onUpdate(st.clone())
	}
	return st
}

// build makes the Status from the documents' last parses.
func (s *sourceState) build(now time.Time) Status {
	switch s.src.Format {
	case FormatGoogle:
		return s.src.FromGoogle(s.docs[0].parsed.([]GoogleIncident), now)
	default:
		return s.src.FromStatuspage(s.docs[0].parsed.(Summary), s.docs[1].parsed.([]Incident), now)
	}
}

// documentsOf lists the documents one poll of src reads.
func documentsOf(src Source) []*document {
	if src.Format == FormatGoogle {
		return []*document{{url: src.URL, parse: func(b []byte) (any, error) { return ParseGoogle(b) }}}
	}
	base := strings.TrimRight(src.URL, "/")
	return []*document{
		{url: base + "/api/v2/summary.json", parse: func(b []byte) (any, error) { return ParseStatuspage(b) }},
		{url: base + "/api/v2/incidents.json", parse: func(b []byte) (any, error) { return ParseIncidents(b) }},
	}
}
