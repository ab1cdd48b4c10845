package vendorstatus

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testNow is when the testdata documents are read (testdata/README.md names the documentation
// each was written from).
var testNow = time.Date(2026, 10, 10, 12, 0, 0, 0, time.UTC)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(tb, err)
	return b
}

func ids(ins []Incident) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.ID)
	}
	return out
}

func componentByName(tb testing.TB, s Status, name string) Component {
	tb.Helper()
	for _, c := range s.Components {
		if c.Name == name {
			return c
		}
	}
	tb.Fatalf("no component %q in %+v", name, s.Components)
	return Component{}
}

// TestStatuspageDocuments reads status.claude.com-like documents (Statuspage Public API v2).
func TestStatuspageDocuments(t *testing.T) {
	t.Parallel()
	sum, err := ParseStatuspage(readTestdata(t, "statuspage_summary.json"))
	require.NoError(t, err)
	incs, err := ParseIncidents(readTestdata(t, "statuspage_incidents.json"))
	require.NoError(t, err)
	require.Len(t, incs, 3)

	st := anthropicSource().FromStatuspage(sum, incs, testNow)
	require.Equal(t, IndicatorMinor, st.Indicator)
	require.Equal(t, "Minor Service Outage", st.Description)
	require.Len(t, st.Components, 4, "the group is left out")
	api := componentByName(t, st, "Claude API (api.anthropic.com)")
	require.Equal(t, "degraded_performance", api.Status)
	require.Empty(t, api.Models, "the API stands for the whole provider")

	// open, then resolved within 24 h; the one resolved three days ago is left out
	require.Equal(t, []string{"p2b7x9f3k1qs", "h7c1m2n8d4vz"}, ids(st.Incidents))
	open := st.Incidents[0]
	require.Equal(t, "identified", open.Status, "the summary's copy was updated last")
	require.True(t, open.Open())
	require.Equal(t, time.Date(2026, 10, 10, 11, 31, 5, 820e6, time.UTC), open.CreatedAt.UTC())
	require.Equal(t, []string{"Claude API (api.anthropic.com)"}, open.Components)
	require.Equal(t, []string{"claude-3-opus*", "claude-opus-*"}, open.Models, "mapped by the incident's name")
	require.Equal(t, "https://stspg.io/p2b7x9f3k1qs", open.URL)
	resolved := st.Incidents[1]
	require.Equal(t, time.Date(2026, 10, 10, 3, 5, 44, 90e6, time.UTC), resolved.ResolvedAt.UTC())
	require.Len(t, st.OpenIncidents(), 1)
}

// TestIncidentIODocuments reads status.openai.com-like documents: no incidents in the summary,
// no components on the incidents.
func TestIncidentIODocuments(t *testing.T) {
	t.Parallel()
	sum, err := ParseStatuspage(readTestdata(t, "incidentio_summary.json"))
	require.NoError(t, err)
	require.Empty(t, sum.Incidents)
	incs, err := ParseIncidents(readTestdata(t, "incidentio_incidents.json"))
	require.NoError(t, err)

	st := openAISource().FromStatuspage(sum, incs, testNow)
	require.Equal(t, IndicatorMajor, st.Indicator)
	require.Equal(t, []string{"text-embedding-*"}, componentByName(t, st, "Embeddings").Models)
	require.Equal(t, "partial_outage", componentByName(t, st, "Chat Completions").Status)
	require.Empty(t, componentByName(t, st, "Conversations").Models, "ChatGPT's components stay unmapped")
	require.Equal(t, []string{"01K7A1Q2W3E4R5T6Y7U8I9O0PA", "01K79ZZZXYXWVUTSRQPONMLKJH"}, ids(st.Incidents))
	require.Equal(t, []string{"gpt-5*"}, st.Incidents[0].Models)
	require.Empty(t, st.Incidents[0].Components)
}

// TestGoogleDocument reads a status.cloud.google.com incidents.json.
func TestGoogleDocument(t *testing.T) {
	t.Parallel()
	gs, err := ParseGoogle(readTestdata(t, "gcloud_incidents.json"))
	require.NoError(t, err)
	require.Len(t, gs, 4)

	st := vertexSource().FromGoogle(gs, testNow)
	require.Equal(t, IndicatorMajor, st.Indicator, "medium severity, SERVICE_DISRUPTION")
	require.Equal(t, []string{"aBcD3fGh1JkLmN0pQrSt", "Q1w2E3r4T5y6U7i8O9p0"}, ids(st.Incidents),
		"Cloud SQL is not mapped; the September one is too old")
	open := st.Incidents[0]
	require.Equal(t, "https://status.cloud.google.com/incidents/aBcD3fGh1JkLmN0pQrSt", open.URL)
	require.Equal(t, []string{"gemini-*"}, open.Models)
	require.Equal(t, []string{"Vertex AI Online Prediction"}, st.Incidents[1].Components, "Compute Engine is dropped")
	require.Equal(t, "resolved", st.Incidents[1].Status)
	require.Equal(t, "partial_outage", componentByName(t, st, "Vertex Gemini API").Status)
	require.Equal(t, "operational", componentByName(t, st, "Vertex AI Online Prediction").Status)
	require.Equal(t, "1 open incident on the mapped products", st.Description)
}

// TestStatuspageMerge: an incident in both documents is taken from the one updated last.
func TestStatuspageMerge(t *testing.T) {
	t.Parallel()
	older := Incident{ID: "a", Status: "identified", CreatedAt: testNow.Add(-time.Hour), UpdatedAt: testNow.Add(-time.Hour)}
	newer := older
	newer.Status, newer.UpdatedAt = "monitoring", testNow.Add(-time.Minute)
	src := anthropicSource()
	st := src.FromStatuspage(Summary{Indicator: IndicatorMinor, Incidents: []Incident{older}}, []Incident{newer}, testNow)
	require.Equal(t, "monitoring", st.Incidents[0].Status)
	st = src.FromStatuspage(Summary{Indicator: IndicatorMinor, Incidents: []Incident{newer}}, []Incident{older}, testNow)
	require.Equal(t, "monitoring", st.Incidents[0].Status)
}

func TestGoogleIndicator(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		severity, impact string
		want             Indicator
	}{
		{"high", "SERVICE_DISRUPTION", IndicatorCritical},
		{"low", "SERVICE_OUTAGE", IndicatorCritical},
		{"medium", "SERVICE_INFORMATION", IndicatorMajor},
		{"low", "SERVICE_DISRUPTION", IndicatorMajor},
		{"low", "SERVICE_INFORMATION", IndicatorMinor},
		{"", "", IndicatorMinor},
	} {
		t.Run(tc.severity+"/"+tc.impact, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, googleIndicator(tc.severity, tc.impact))
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, want string
		parse           func([]byte) error
	}{
		{"summary html", "<html>503</html>", "summary: invalid character", summaryErr},
		{"summary null", "null", "summary: no status", summaryErr},
		{"summary other indicator", `{"status":{"indicator":"purple"}}`, `"purple" is not one of`, summaryErr},
		{"summary incident without id", `{"status":{"indicator":"none"},"incidents":[{"name":"x","created_at":"2026-01-01T00:00:00Z"}]}`, `incident "x" has no id`, summaryErr},
		{"incidents without array", `{"page":{}}`, "incidents: no incidents array", incidentsErr},
		{"incidents bad time", `{"incidents":[{"id":"a","created_at":"yesterday"}]}`, "incidents: parsing time", incidentsErr},
		{"google object", `{"incidents":[]}`, "incidents.json: json: cannot unmarshal object", googleErr},
		{"google null", `null`, "incidents.json: not an array", googleErr},
		{"google no begin", `[{"id":"x"}]`, `incident "x" has no id or begin`, googleErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.parse([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func summaryErr(b []byte) error   { _, err := ParseStatuspage(b); return err }
func incidentsErr(b []byte) error { _, err := ParseIncidents(b); return err }
func googleErr(b []byte) error    { _, err := ParseGoogle(b); return err }

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"Claude API*", "Claude API (api.anthropic.com)", true},
		{"claude api*", "CLAUDE API (api.anthropic.com)", true},
		{"*Opus*", "Elevated errors on Claude Opus 4.5", true},
		{"*Opus*", "Claude Sonnet 4.5", false},
		{"Files", "Files/Uploads", false},
		{"Files*", "Files/Uploads", true},
		{"[", "[", false},
	} {
		t.Run(tc.pattern+"~"+tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, match(tc.pattern, tc.name))
		})
	}
}

// BenchmarkParseIncidents50 parses an incidents.json of 50 incidents, the most the endpoint
// returns (docs/vendorstatus.md quotes the figure).
func BenchmarkParseIncidents50(b *testing.B) {
	doc := fiftyIncidents(b)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := ParseIncidents(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func fiftyIncidents(tb testing.TB) []byte {
	tb.Helper()
	one := readTestdata(tb, "statuspage_incidents.json")
	// the three incidents of the testdata, repeated with new ids to 50
	incs, err := ParseIncidents(one)
	require.NoError(tb, err)
	var raw []byte
	raw = append(raw, `{"incidents":[`...)
	for i := range 50 {
		if i > 0 {
			raw = append(raw, ',')
		}
		in := incs[i%len(incs)]
		raw = append(raw, []byte(`{"id":"`+in.ID+string(rune('a'+i%26))+`","name":"`+in.Name+`","status":"resolved","impact":"minor","shortlink":"https://stspg.io/x","created_at":"2026-10-0`+string(rune('1'+i%9))+`T10:00:00.000Z","updated_at":"2026-10-09T10:00:00.000Z","resolved_at":"2026-10-09T10:00:00.000Z","incident_updates":[{"id":"u","status":"resolved","body":"This incident has been resolved after an investigation of the elevated error rates that some customers saw.","created_at":"2026-10-09T10:00:00.000Z"}],"components":[{"id":"k8w3r06qmzrp","name":"Claude API (api.anthropic.com)","status":"operational","position":3,"group":false}]}`)...)
	}
	raw = append(raw, `]}`...)
	return raw
}
