package vendorstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Summary is what a Statuspage-style summary.json (GET /api/v2/summary.json) says: the page's
// indicator, its components and its unresolved incidents. incident.io's copy lists no incidents.
type Summary struct {
	Indicator   Indicator
	Description string
	Components  []Component
	// Incidents are the unresolved incidents the summary lists (none on incident.io's).
	Incidents []Incident
	// Maintenance is whether a scheduled maintenance is in progress.
	Maintenance bool
}

// spSummary is the part of Statuspage's summary.json that is read (developer.statuspage.io,
// "Public API v2": page, status, components, incidents, scheduled_maintenances).
type spSummary struct {
	Status *struct {
		Indicator   string `json:"indicator"`
		Description string `json:"description"`
	} `json:"status"`
	Components []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		// Group is true for a group of components, whose status sums up its members'.
		Group bool `json:"group"`
	} `json:"components"`
	Incidents             []spIncident `json:"incidents"`
	ScheduledMaintenances []struct {
		Status string `json:"status"`
	} `json:"scheduled_maintenances"`
}

// spIncident is one incident of summary.json or incidents.json.
type spIncident struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Impact     string     `json:"impact"`
	Shortlink  string     `json:"shortlink"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  *time.Time `json:"updated_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	Components []struct {
		Name string `json:"name"`
	} `json:"components"`
}

// ParseStatuspage parses a Statuspage (or incident.io) summary.json. A document without a known
// status.indicator is an error, so that an HTML error page or another format is never read as
// "all systems operational".
func ParseStatuspage(data []byte) (Summary, error) {
	var raw spSummary
	if err := json.Unmarshal(data, &raw); err != nil {
		return Summary{}, fmt.Errorf("summary: %w", err)
	}
	if raw.Status == nil {
		return Summary{}, errors.New("summary: no status")
	}
	ind := Indicator(raw.Status.Indicator)
	if !ind.known() {
		return Summary{}, fmt.Errorf("summary: status.indicator %q is not one of none, minor, major, critical, maintenance", truncate(raw.Status.Indicator))
	}
	sum := Summary{Indicator: ind, Description: raw.Status.Description}
	for _, c := range raw.Components {
		if !c.Group {
			sum.Components = append(sum.Components, Component{Name: c.Name, Status: c.Status})
		}
	}
	for _, r := range raw.Incidents {
		in, err := r.incident()
		if err != nil {
			return Summary{}, fmt.Errorf("summary: %w", err)
		}
		sum.Incidents = append(sum.Incidents, in)
	}
	for _, m := range raw.ScheduledMaintenances {
		sum.Maintenance = sum.Maintenance || m.Status == "in_progress" || m.Status == "verifying"
	}
	return sum, nil
}

// ParseIncidents parses a Statuspage (or incident.io) incidents.json (GET /api/v2/incidents.json:
// the last 50 incidents). A document without an incidents array is an error.
func ParseIncidents(data []byte) ([]Incident, error) {
	var raw struct {
		Incidents *[]spIncident `json:"incidents"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	if raw.Incidents == nil {
		return nil, errors.New("incidents: no incidents array")
	}
	out := make([]Incident, 0, len(*raw.Incidents))
	for _, r := range *raw.Incidents {
		in, err := r.incident()
		if err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, nil
}

func (r spIncident) incident() (Incident, error) {
	if r.ID == "" {
		return Incident{}, fmt.Errorf("incident %q has no id", truncate(r.Name))
	}
	if r.CreatedAt.IsZero() {
		return Incident{}, fmt.Errorf("incident %s has no created_at", truncate(r.ID))
	}
	in := Incident{
		ID: r.ID, Name: r.Name, Status: r.Status, Impact: r.Impact, URL: r.Shortlink,
		CreatedAt: r.CreatedAt, UpdatedAt: r.CreatedAt,
	}
	if r.UpdatedAt != nil {
		in.UpdatedAt = *r.UpdatedAt
	}
	if r.ResolvedAt != nil {
		in.ResolvedAt = *r.ResolvedAt
	}
	if in.ResolvedAt.IsZero() && (r.Status == "resolved" || r.Status == "postmortem") {
		// resolved without a resolved_at (seen on compatible pages): its last update is the end
		in.ResolvedAt = in.UpdatedAt
	}
	for _, c := range r.Components {
		in.Components = append(in.Components, c.Name)
	}
	return in, nil
}

// FromStatuspage builds the Status of a Statuspage or incident.io source from its summary and
// its incidents.json, read at now: the page's own indicator (maintenance when it says none
// during a maintenance), every component (mapped ones with their models, the others kept
// without), and the incidents open or resolved in the last 24 hours, newest first. An incident
// in both documents is taken from the one updated last.
func (s Source) FromStatuspage(sum Summary, incidents []Incident, now time.Time) Status {
	st := Status{
		Provider: s.Provider, Page: s.Page, Indicator: sum.Indicator, Description: sum.Description,
		CheckedAt: now, FetchedAt: now,
	}
	if st.Indicator == IndicatorNone && sum.Maintenance {
		st.Indicator = IndicatorMaintenance
	}
	for _, c := range sum.Components {
		if m, ok := s.mapping(c.Name); ok {
			c.Models = slices.Clone(m.Models)
		}
		st.Components = append(st.Components, c)
	}
	byID := map[string]Incident{}
	for _, in := range slices.Concat(incidents, sum.Incidents) {
		if old, ok := byID[in.ID]; !ok || !in.UpdatedAt.Before(old.UpdatedAt) {
			byID[in.ID] = in
		}
	}
	for _, in := range byID {
		if recent(in, now) {
			in.Models = s.modelsOf(in.Name, in.Components)
			st.Incidents = append(st.Incidents, in)
		}
	}
	sortIncidents(st.Incidents)
	return st
}

// recentWindow is how long a resolved incident is still shown.
const recentWindow = 24 * time.Hour

func recent(in Incident, now time.Time) bool {
	return in.Open() || now.Sub(in.ResolvedAt) <= recentWindow
}

// sortIncidents sorts newest first, by ID among equals so that the order is stable.
func sortIncidents(ins []Incident) {
	slices.SortFunc(ins, func(a, b Incident) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// known reports whether i is one of the page indicators (not unknown).
func (i Indicator) known() bool {
	switch i {
	case IndicatorNone, IndicatorMinor, IndicatorMajor, IndicatorCritical, IndicatorMaintenance:
		return true
	}
	return false
}

// truncate bounds text from a page quoted in an error.
func truncate(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
