package vendorstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// GoogleIncident is one incident of Google Cloud's incidents.json, with Google's own severity
// and impact beside the Incident they were mapped to.
type GoogleIncident struct {
	Incident
	// Severity is low, medium or high; StatusImpact SERVICE_INFORMATION, SERVICE_DISRUPTION or
	// SERVICE_OUTAGE.
	Severity     string
	StatusImpact string
}

// gIncident is the part of an incidents.json entry that is read
// (https://status.cloud.google.com/incidents.schema.json).
type gIncident struct {
	ID               string     `json:"id"`
	Begin            time.Time  `json:"begin"`
	End              *time.Time `json:"end"`
	Modified         *time.Time `json:"modified"`
	ExternalDesc     string     `json:"external_desc"`
	Severity         string     `json:"severity"`
	StatusImpact     string     `json:"status_impact"`
	URI              string     `json:"uri"`
	AffectedProducts []struct {
		Title string `json:"title"`
		ID    string `json:"id"`
	} `json:"affected_products"`
	MostRecentUpdate *struct {
		Status string `json:"status"`
	} `json:"most_recent_update"`
}

// ParseGoogle parses Google Cloud's incidents.json: a JSON array of every incident of every
// product, newest first. Anything but an array is an error. Open incidents (no end) get status
// "investigating" (Google has no stages), resolved ones "resolved"; Impact is critical for high
// severity or SERVICE_OUTAGE, major for medium or SERVICE_DISRUPTION, minor otherwise. URL is
// uri as Google gives it (relative to the page); Components are the affected products' titles.
func ParseGoogle(data []byte) ([]GoogleIncident, error) {
	var raw []gIncident
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("incidents.json: %w", err)
	}
	if raw == nil {
		return nil, errors.New("incidents.json: not an array")
	}
	out := make([]GoogleIncident, 0, len(raw))
	for _, r := range raw {
		if r.ID == "" || r.Begin.IsZero() {
			return nil, fmt.Errorf("incidents.json: incident %q has no id or begin", truncate(r.ID))
		}
		in := Incident{
			ID: r.ID, Name: r.ExternalDesc, Status: "investigating", URL: r.URI,
			CreatedAt: r.Begin, UpdatedAt: r.Begin,
		}
		if r.Modified != nil {
			in.UpdatedAt = *r.Modified
		}
		if r.End != nil && !r.End.IsZero() {
			in.ResolvedAt, in.Status = *r.End, "resolved"
		}
		for _, p := range r.AffectedProducts {
			in.Components = append(in.Components, p.Title)
		}
		impact := r.StatusImpact
		if impact == "" && r.MostRecentUpdate != nil {
			impact = r.MostRecentUpdate.Status
		}
		in.Impact = string(googleIndicator(r.Severity, impact))
		out = append(out, GoogleIncident{Incident: in, Severity: r.Severity, StatusImpact: impact})
	}
	return out, nil
}

func googleIndicator(severity, impact string) Indicator {
	switch {
	case strings.EqualFold(severity, "high") || impact == "SERVICE_OUTAGE":
		return IndicatorCritical
	case strings.EqualFold(severity, "medium") || impact == "SERVICE_DISRUPTION":
		return IndicatorMajor
	}
	return IndicatorMinor
}

// FromGoogle builds the Status of a Google source from incidents.json read at now. Only the
// incidents that affect a mapped product count (Google lists every Google Cloud product), with
// only those products as Components. The indicator is the worst impact of the open ones, none
// without any. The Components of the Status are the mapping's literal product names and the
// mapped products of open incidents, each degraded_performance, partial_outage or major_outage
// by its worst open incident (minor, major, critical), operational without one.
func (s Source) FromGoogle(incidents []GoogleIncident, now time.Time) Status {
	st := Status{Provider: s.Provider, Page: s.Page, Indicator: IndicatorNone, CheckedAt: now, FetchedAt: now}
	worst := map[string]Indicator{} // product → worst open impact
	for _, m := range s.Components {
		if !strings.ContainsAny(m.Component, "*?[\\") {
			worst[m.Component] = IndicatorNone
		}
	}
	base, _ := url.Parse(s.URL)
	for _, g := range incidents {
		in := g.Incident
		in.Components = slices.DeleteFunc(slices.Clone(in.Components), func(p string) bool {
			_, ok := s.mapping(p)
			return !ok
		})
		if len(in.Components) == 0 || !recent(in, now) {
			continue
		}
		if in.Open() {
			ind := Indicator(in.Impact)
			st.Indicator = worse(st.Indicator, ind)
			for _, p := range in.Components {
				worst[p] = worse(worst[p], ind)
			}
		}
		if ref, err := url.Parse(in.URL); err == nil && base != nil && in.URL != "" {
			in.URL = base.ResolveReference(ref).String()
		}
		in.Models = s.modelsOf(in.Name, in.Components)
		st.Incidents = append(st.Incidents, in)
	}
	sortIncidents(st.Incidents)
	for name, ind := range worst {
		c := Component{Name: name, Status: componentStatus(ind)}
		if m, ok := s.mapping(name); ok {
			c.Models = slices.Clone(m.Models)
		}
		st.Components = append(st.Components, c)
	}
	slices.SortFunc(st.Components, func(a, b Component) int { return strings.Compare(a.Name, b.Name) })
	st.Description = googleDescription(len(st.OpenIncidents()))
	return st
}

func googleDescription(open int) string {
	switch open {
	case 0:
		return "No open incident on the mapped products"
	case 1:
		return "1 open incident on the mapped products"
	}
	return fmt.Sprintf("%d open incidents on the mapped products", open)
}

// rank orders indicators by severity; unknown and maintenance rank with none.
func rank(i Indicator) int {
	switch i {
	case IndicatorMinor:
		return 1
	case IndicatorMajor:
		return 2
	case IndicatorCritical:
		return 3
	}
	return 0
}

func worse(a, b Indicator) Indicator {
	if rank(b) > rank(a) {
		return b
	}
	if a == "" {
		return IndicatorNone
	}
	return a
}

func componentStatus(i Indicator) string {
	switch i {
	case IndicatorMinor:
		return "degraded_performance"
	case IndicatorMajor:
		return "partial_outage"
	case IndicatorCritical:
		return "major_outage"
	}
	return "operational"
}
