package statuspage

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SilenceLister lists the silences active at now, oldest first. The stores implement it; it must
// be safe for concurrent use.
type SilenceLister interface {
	Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error)
}

// SilenceListerFunc adapts a function to SilenceLister.
type SilenceListerFunc func(ctx context.Context, now time.Time) ([]incidents.Silence, error)

// Silences calls f.
func (f SilenceListerFunc) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	return f(ctx, now)
}

// Options configure the page.
type Options struct {
	// Title heads the page; "outagewatch" when empty.
	Title string
	// GrafanaURL is Grafana's base URL; when set, each series links to its outagewatch-overview
	// dashboard.
	GrafanaURL string
	// StoreTimeout bounds the reads of the incident store for one page; 2 s when zero. When it
	// passes, the page shows the health part and says the store is unavailable.
	StoreTimeout time.Duration
	// Now is the page's clock; time.Now when nil.
	Now func() time.Time
	// Freshness, when set, adds the traffic part at the top of the page: when the last span
	// arrived and the calls per second, overall and per provider. nil leaves it out.
	Freshness health.FreshnessSource
	// SilenceAfter is how long without traffic the page warns after: the detectors' silence
	// timeout (detectors.Config.SilenceMin, after which a silent series turns unknown); the
	// default's when zero.
	SilenceAfter time.Duration
	// Endpoints, when set, adds the endpoints part: the hosts configured or learned to serve a
	// provider, so that a person sees where unattributed attempts go. nil leaves it out.
	Endpoints func() []Endpoint
	// Cluster, when set, adds a line about the replica's cluster at the top of the page
	// ("cluster: 3 replicas, leader outagewatch-1, term 7"); "" leaves it out.
	Cluster func() string
	// VendorStatus, when set, adds under each provider's header what the provider's own status
	// page says ("Status page: Partial outage — …"), and a note when it disagrees with our
	// verdict (vendorview.go). It changes no state. nil leaves the line out.
	VendorStatus health.VendorStatusSource
}

// DefaultStoreTimeout is Options.StoreTimeout when zero.
const DefaultStoreTimeout = 2 * time.Second

// Page serves the status page. It reads the board, the History and the store; it is safe for
// concurrent use.
type Page struct {
	board    *health.Board
	hist     *History
	incs     incidents.Query
	silences SilenceLister
	opts     Options
	tmpl     *template.Template
	static   http.Handler
}

// New returns the page over board and hist (nil: no charts), the incidents of incs and the
// silences of silences (either nil: the page says the store is unavailable).
func New(board *health.Board, hist *History, incs incidents.Query, silences SilenceLister, opts Options) *Page {
	if opts.Title == "" {
		opts.Title = "outagewatch"
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SilenceAfter <= 0 {
		opts.SilenceAfter = detectors.DefaultConfig().SilenceMin
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	return &Page{
		board: board, hist: hist, incs: incs, silences: silences, opts: opts,
		tmpl:   template.Must(template.New("").ParseFS(templateFS, "templates/*.html")),
		static: http.StripPrefix("/static/", http.FileServerFS(filesOnly{static})),
	}
}

// filesOnly is a file system whose directories do not exist: http.FileServerFS would list them
// (GET /static/ showed the directory), and the page serves files only.
type filesOnly struct{ fs.FS }

// Open opens name, a file; a directory is fs.ErrNotExist.
func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		_ = file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

// Register mounts the page on mux: GET / (the status page; ?fragment=live gives the part that
// live.js refreshes), GET /incidents/{id} and GET /static/.
func (p *Page) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /incidents/{id}", p.incident)
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		// Embedded files have no modification time to revalidate against; they are small.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		p.static.ServeHTTP(w, r)
	})
}

// indexData is what templates/index.html shows.
type indexData struct {
	Title     string
	Generated timeText
	Ingest    ingestView
	Endpoints endpointsView
	Health    healthView
	Incidents incidentsView
	Cluster   string
}

func (p *Page) index(w http.ResponseWriter, r *http.Request) {
	now := p.opts.Now()
	data := indexData{
		Title: p.opts.Title, Generated: timeTextOf(now, now), Ingest: p.buildIngest(now),
		Health: p.buildHealth(now), Incidents: p.buildIncidents(r.Context(), now), Endpoints: p.buildEndpoints(now),
	}
	if p.opts.Cluster != nil {
		data.Cluster = p.opts.Cluster()
	}
	name := "index.html"
	if r.URL.Query().Get("fragment") == "live" {
		name = "live"
	}
	p.render(w, http.StatusOK, name, data)
}

// incidentData is what templates/incident.html shows.
type incidentData struct {
	Title    string
	Incident incidentCard
	Timeline []eventRow
	// Problem replaces the incident when it could not be shown.
	Problem string
}

func (p *Page) incident(w http.ResponseWriter, r *http.Request) {
	now := p.opts.Now()
	data := incidentData{Title: p.opts.Title}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		data.Problem = "There is no incident with that number."
		p.render(w, http.StatusNotFound, "incident.html", data)
		return
	}
	if p.incs == nil {
		data.Problem = "The incident store is unavailable."
		p.render(w, http.StatusServiceUnavailable, "incident.html", data)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.opts.StoreTimeout)
	defer cancel()
	inc, events, err := p.incs.Get(ctx, id)
	switch {
	case errors.Is(err, incidents.ErrNotFound):
		data.Problem = "There is no incident #" + strconv.FormatInt(id, 10) + "."
		p.render(w, http.StatusNotFound, "incident.html", data)
		return
	case err != nil:
		data.Problem = "The incident store is unavailable; the health of every series is on the status page."
		p.render(w, http.StatusServiceUnavailable, "incident.html", data)
		return
	}
	data.Incident, data.Timeline = incidentCardOf(inc, events, now), eventRows(events, now, true)
	p.render(w, http.StatusOK, "incident.html", data)
}

// contentSecurityPolicy allows the page's own script, styles and stream, and nothing inline:
// even if some text escaped the templates' escaping, the browser would not run it.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// render executes a template into a buffer first, so that a template error is a clean 500
// rather than half a page.
func (p *Page) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
