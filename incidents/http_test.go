package incidents

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestViewShowsNoEmptyModel(t *testing.T) {
	t.Parallel()
	// A row written by an older build, with the provider's own series recorded as model "".
	inc := Incident{ID: 1, Provider: "anthropic", Models: []string{"", "claude-sonnet-4-5"}, OpenedAt: t0, UpdatedAt: t0}
	require.Equal(t, []string{"claude-sonnet-4-5"}, View(inc, t0).Models)
	inc.Models = []string{""}
	require.Equal(t, []string{}, View(inc, t0).Models)
}

func TestEvidenceClassesAreAnArray(t *testing.T) {
	t.Parallel()
	// The same shape as /v1/health's reasons: [{"class", "count"}], most frequent first.
	ev := Evidence{Detector: "error_rate", Classes: map[string]int{"timeout": 3, "overloaded": 35, "server_error": 3}}
	b, err := json.Marshal(EventViewOf(Event{Kind: EventTransition, Evidence: ev}))
	require.NoError(t, err)
	require.Contains(t, string(b), `"classes":[{"class":"overloaded","count":35},{"class":"server_error","count":3},{"class":"timeout","count":3}]`)

	// Stored evidence round-trips, and rows older builds wrote as an object still read.
	var back Evidence
	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, ev.Classes, back.Classes)
	var legacy Evidence
	require.NoError(t, json.Unmarshal([]byte(`{"detector":"error_rate","classes":{"overloaded":35,"timeout":3}}`), &legacy))
	require.EqualValues(t, map[string]int{"overloaded": 35, "timeout": 3}, legacy.Classes)

	// No classes: no field.
	b, err = json.Marshal(Evidence{Detector: "ttft"})
	require.NoError(t, err)
	require.NotContains(t, string(b), "classes")
}

// fakeQuery records the filter of List and returns incs.
type fakeQuery struct {
	incs   []Incident
	filter Filter
}

func (q *fakeQuery) List(_ context.Context, f Filter) ([]Incident, error) {
	q.filter = f
	return q.incs, nil
}

func (q *fakeQuery) Get(context.Context, int64) (Incident, []Event, error) {
	return Incident{}, nil, ErrNotFound
}

// TestListShowsAndFiltersTheCaller: a local incident names its caller, a provider incident has
// no caller field, and ?caller= filters (a malformed one is a 400).
func TestListShowsAndFiltersTheCaller(t *testing.T) {
	t.Parallel()
	q := &fakeQuery{incs: []Incident{
		{ID: 2, Provider: "anthropic", Caller: "service:batch-jobs", OpenedAt: t0, UpdatedAt: t0},
		{ID: 1, Provider: "anthropic", OpenedAt: t0, UpdatedAt: t0},
	}}
	mux := http.NewServeMux()
	NewAPI(q, nil, nil).Register(mux)
	get := func(target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec
	}

	rec := get("/v1/incidents?caller=service:batch-jobs")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "service:batch-jobs", q.filter.Caller)
	var out struct {
		Incidents []map[string]any `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.Len(t, out.Incidents, 2)
	require.Equal(t, "service:batch-jobs", out.Incidents[0]["caller"])
	require.NotContains(t, out.Incidents[1], "caller", "a provider incident has no caller")

	rec = get("/v1/incidents")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Empty(t, q.filter.Caller)

	for _, bad := range []string{"batch-jobs", "host:x", "service:"} {
		rec = get("/v1/incidents?caller=" + bad)
		require.Equal(t, http.StatusBadRequest, rec.Code, bad)
		require.Contains(t, rec.Body.String(), "caller: want service:NAME or endpoint:HOST")
	}
}

// oneQuery serves one incident and its timeline.
type oneQuery struct {
	inc      Incident
	timeline []Event
}

func (q oneQuery) List(context.Context, Filter) ([]Incident, error) { return []Incident{q.inc}, nil }

func (q oneQuery) Get(_ context.Context, id int64) (Incident, []Event, error) {
	if id != q.inc.ID {
		return Incident{}, nil, ErrNotFound
	}
	return q.inc, q.timeline, nil
}

// TestViewShowsTheProviderPost: a linked post is shown with its lead over our detection (the
// opening event's time with the timeline, the opening in lists); an unlinked incident has no
// vendor field.
func TestViewShowsTheProviderPost(t *testing.T) {
	t.Parallel()
	inc := Incident{
		ID: 7, Provider: "anthropic", OpenedAt: t0.Add(time.Minute), UpdatedAt: t0, State: StateResolved,
		ResolvedAt: t0.Add(30 * time.Minute),
		Vendor: VendorPost{
			ID: "tqx3p6lqqd5k", Name: "Elevated errors on Claude Sonnet", URL: "https://status.claude.com/incidents/tqx3p6lqqd5k",
			PostedAt: t0.Add(6 * time.Minute), ResolvedAt: t0.Add(55 * time.Minute),
		},
	}
	timeline := []Event{
		{ID: 1, At: t0, Kind: EventOpened, Provider: "anthropic"},
		{ID: 2, At: t0.Add(6 * time.Minute), Kind: EventVendorPosted, Provider: "anthropic", Actor: Actor},
	}
	mux := http.NewServeMux()
	NewAPI(oneQuery{inc, timeline}, nil, nil).Register(mux)
	get := func(target string) []byte {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.Bytes()
	}
	vendor := func(lead float64) map[string]any {
		return map[string]any{
			"id": "tqx3p6lqqd5k", "name": "Elevated errors on Claude Sonnet", "url": "https://status.claude.com/incidents/tqx3p6lqqd5k",
			"posted_at": "2026-06-20T14:06:00Z", "resolved_at": "2026-06-20T14:55:00Z", "lead_seconds": lead,
		}
	}

	var one struct {
		Vendor   map[string]any   `json:"vendor"`
		Timeline []map[string]any `json:"timeline"`
	}
	require.NoError(t, json.Unmarshal(get("/v1/incidents/7"), &one))
	require.Equal(t, vendor(360), one.Vendor, "from the opening event")
	require.Equal(t, "vendor_posted", one.Timeline[1]["kind"])

	var list struct {
		Incidents []map[string]any `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal(get("/v1/incidents"), &list))
	require.Equal(t, vendor(300), list.Incidents[0]["vendor"], "from the opening, without a timeline")

	inc.Vendor = VendorPost{}
	b, err := json.Marshal(View(inc, t0))
	require.NoError(t, err)
	require.NotContains(t, string(b), "vendor")

	inc.Vendor = VendorPost{ID: "x", PostedAt: t0}
	v := View(inc, t0).Vendor
	require.NotNil(t, v)
	require.Nil(t, v.ResolvedAt, "open on the provider's page")
	require.InDelta(t, -60, *v.LeadSeconds, 1e-9, "the provider posted first")
}
