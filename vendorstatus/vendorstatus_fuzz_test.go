package vendorstatus

import (
	"testing"
)

// The parsers take documents from someone else's server: whatever they are given, they must not
// panic, and they return exactly one of a result or an error.

func FuzzParseStatuspage(f *testing.F) {
	f.Add(readTestdata(f, "statuspage_summary.json"))
	f.Add(readTestdata(f, "incidentio_summary.json"))
	f.Add([]byte(`{"status":{"indicator":"none"},"incidents":[{"id":"a","created_at":"2026-01-01T00:00:00Z","status":"resolved"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sum, err := ParseStatuspage(data)
		if err != nil {
			return
		}
		if !sum.Indicator.known() {
			t.Fatalf("accepted indicator %q", sum.Indicator)
		}
		st := anthropicSource().FromStatuspage(sum, nil, testNow)
		if st.Indicator == "" || st.Indicator == IndicatorUnknown {
			t.Fatalf("indicator %q from a good read", st.Indicator)
		}
	})
}

func FuzzParseIncidents(f *testing.F) {
	f.Add(readTestdata(f, "statuspage_incidents.json"))
	f.Add(readTestdata(f, "incidentio_incidents.json"))
	f.Add([]byte(`{"incidents":[]}`))
	f.Add([]byte(`{"incidents":[{"id":"a","created_at":"2026-01-01T00:00:00Z","resolved_at":null,"components":null}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		incs, err := ParseIncidents(data)
		if err != nil {
			if incs != nil {
				t.Fatal("both a result and an error")
			}
			return
		}
		for _, in := range incs {
			if in.ID == "" || in.CreatedAt.IsZero() {
				t.Fatalf("accepted %+v", in)
			}
		}
		_ = openAISource().FromStatuspage(Summary{Indicator: IndicatorNone}, incs, testNow)
	})
}

func FuzzParseGoogle(f *testing.F) {
	f.Add(readTestdata(f, "gcloud_incidents.json"))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":"x","begin":"2026-10-10T10:00:00Z","affected_products":[{"title":"Vertex Gemini API"}],"uri":"::%zz"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := ParseGoogle(data)
		if err != nil {
			if gs != nil {
				t.Fatal("both a result and an error")
			}
			return
		}
		st := vertexSource().FromGoogle(gs, testNow)
		if !st.Indicator.known() {
			t.Fatalf("indicator %q", st.Indicator)
		}
	})
}
