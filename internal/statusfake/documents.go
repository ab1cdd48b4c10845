package statusfake

import (
	"slices"
	"strings"
	"time"
)

// The documents' shapes follow the formats' public documentation: Statuspage's Public API v2
// (summary.json, incidents.json), incident.io's Statuspage-compatible copy of them, and Google
// Cloud's incidents.json (incidents.schema.json). Only the fields vendorstatus reads, and a few
// beside them so that a parser that is too strict would fail, are rendered.

type page struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	TimeZone  string    `json:"time_zone"`
	UpdatedAt time.Time `json:"updated_at"`
}

type spStatus struct {
	Indicator   string `json:"indicator"`
	Description string `json:"description"`
}

type spComponent struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Status             string  `json:"status"`
	Position           int     `json:"position"`
	Description        *string `json:"description"`
	Showcase           bool    `json:"showcase"`
	GroupID            *string `json:"group_id"`
	Group              bool    `json:"group"`
	OnlyShowIfDegraded bool    `json:"only_show_if_degraded"`
}

type spIncident struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	Status          string             `json:"status"`
	Impact          string             `json:"impact"`
	Shortlink       string             `json:"shortlink"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	MonitoringAt    *time.Time         `json:"monitoring_at"`
	ResolvedAt      *time.Time         `json:"resolved_at"`
	StartedAt       time.Time          `json:"started_at"`
	PageID          string             `json:"page_id"`
	IncidentUpdates []spIncidentUpdate `json:"incident_updates"`
	Components      []spComponent      `json:"components,omitempty"`
}

type spIncidentUpdate struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

type spSummary struct {
	Page                  page          `json:"page"`
	Status                spStatus      `json:"status"`
	Components            []spComponent `json:"components"`
	Incidents             *[]spIncident `json:"incidents,omitempty"`
	ScheduledMaintenances *[]any        `json:"scheduled_maintenances,omitempty"`
}

var componentRank = map[string]int{DegradedPerformance: 1, PartialOutage: 2, MajorOutage: 3}
var impactRank = map[string]int{"minor": 1, "major": 2, "critical": 3}
var indicatorOf = []string{"none", "minor", "major", "critical"}
var descriptionOf = []string{"All Systems Operational", "Minor Service Outage", "Partial System Outage", "Major System Outage"}

func (s *Server) summary(incidentIO bool) spSummary {
	worst := 0
	comps := make([]spComponent, 0, len(s.components))
	for i, c := range s.components {
		worst = max(worst, componentRank[c.status])
		comps = append(comps, spComponent{ID: componentID(c.name), Name: c.name, Status: c.status, Position: i + 1})
	}
	open := []spIncident{}
	for _, in := range s.sortedIncidents() {
		if in.ResolvedAt.IsZero() {
			worst = max(worst, impactRank[in.Impact])
			open = append(open, s.spIncident(in, false))
		}
	}
	sum := spSummary{
		Page:       page{ID: "fakepage", Name: "Fake", URL: "https://status.example.com", TimeZone: "Etc/UTC", UpdatedAt: s.updatedAt()},
		Status:     spStatus{Indicator: indicatorOf[worst], Description: descriptionOf[worst]},
		Components: comps,
	}
	if !incidentIO {
		sum.Incidents, sum.ScheduledMaintenances = &open, &[]any{}
	}
	return sum
}

func (s *Server) incidentsDoc(incidentIO bool) map[string]any {
	ins := s.sortedIncidents()
	if len(ins) > 50 {
		ins = ins[:50]
	}
	out := make([]spIncident, 0, len(ins))
	for _, in := range ins {
		out = append(out, s.spIncident(in, incidentIO))
	}
	return map[string]any{
		"page":      page{ID: "fakepage", Name: "Fake", URL: "https://status.example.com", TimeZone: "Etc/UTC", UpdatedAt: s.updatedAt()},
		"incidents": out,
	}
}

func (s *Server) spIncident(in Incident, incidentIO bool) spIncident {
	out := spIncident{
		ID: in.ID, Name: in.Name, Status: in.Status, Impact: in.Impact,
		Shortlink: "https://stspg.io/" + in.ID, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt,
		StartedAt: in.CreatedAt, PageID: "fakepage",
		IncidentUpdates: []spIncidentUpdate{{ID: in.ID + "-u", Status: in.Status, Body: "Update.", CreatedAt: in.UpdatedAt}},
	}
	if incidentIO {
		out.Shortlink = "https://status.example.com/incidents/" + in.ID
	}
	if !in.ResolvedAt.IsZero() {
		r := in.ResolvedAt
		out.ResolvedAt = &r
	}
	if !incidentIO {
		for _, name := range in.Components {
			status := Operational
			for _, c := range s.components {
				if c.name == name {
					status = c.status
				}
			}
			out.Components = append(out.Components, spComponent{ID: componentID(name), Name: name, Status: status})
		}
	}
	return out
}

// sortedIncidents returns the incidents newest first.
func (s *Server) sortedIncidents() []Incident {
	ins := slices.Clone(s.incidents)
	slices.SortStableFunc(ins, func(a, b Incident) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return ins
}

func (s *Server) updatedAt() time.Time {
	var t time.Time
	for _, in := range s.incidents {
		if in.UpdatedAt.After(t) {
			t = in.UpdatedAt
		}
	}
	return t
}

func componentID(name string) string {
	return strings.NewReplacer(" ", "-", "(", "", ")", "", ".", "-").Replace(strings.ToLower(name))
}

type gProduct struct {
	Title string `json:"title"`
	ID    string `json:"id"`
}

type gUpdate struct {
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	When     time.Time `json:"when"`
	Text     string    `json:"text"`
	Status   string    `json:"status"`
}

type gIncident struct {
	ID               string     `json:"id"`
	Number           string     `json:"number"`
	Begin            time.Time  `json:"begin"`
	Created          time.Time  `json:"created"`
	End              *time.Time `json:"end,omitempty"`
	Modified         time.Time  `json:"modified"`
	ExternalDesc     string     `json:"external_desc"`
	Updates          []gUpdate  `json:"updates"`
	MostRecentUpdate gUpdate    `json:"most_recent_update"`
	StatusImpact     string     `json:"status_impact"`
	Severity         string     `json:"severity"`
	ServiceKey       string     `json:"service_key"`
	ServiceName      string     `json:"service_name"`
	AffectedProducts []gProduct `json:"affected_products"`
	URI              string     `json:"uri"`
}

func (s *Server) googleDoc() []gIncident {
	gs := slices.Clone(s.google)
	slices.SortStableFunc(gs, func(a, b GoogleIncident) int { return b.Begin.Compare(a.Begin) })
	out := make([]gIncident, 0, len(gs))
	for _, g := range gs {
		modified, status := g.Begin, g.StatusImpact
		var end *time.Time
		if !g.End.IsZero() {
			e := g.End
			end, modified, status = &e, e, "AVAILABLE"
		}
		u := gUpdate{Created: modified, Modified: modified, When: modified, Text: "Update.", Status: status}
		gi := gIncident{
			ID: g.ID, Number: "1", Begin: g.Begin, Created: g.Begin, End: end, Modified: modified,
			ExternalDesc: g.Desc, Updates: []gUpdate{u}, MostRecentUpdate: u,
			StatusImpact: g.StatusImpact, Severity: g.Severity, URI: "incidents/" + g.ID,
		}
		for _, p := range g.Products {
			gi.AffectedProducts = append(gi.AffectedProducts, gProduct{Title: p, ID: componentID(p)})
		}
		if len(g.Products) > 0 {
			gi.ServiceName, gi.ServiceKey = g.Products[0], componentID(g.Products[0])
		}
		out = append(out, gi)
	}
	return out
}
