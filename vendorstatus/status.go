package vendorstatus

import (
	"time"
)

// Indicator is a provider's overall status as its own page states it.
type Indicator string

// Indicators: Atlassian Statuspage's (none, minor, major, critical, maintenance), to which the
// other formats are mapped, and unknown.
const (
	IndicatorNone        Indicator = "none"        // all systems operational
	IndicatorMinor       Indicator = "minor"       // degraded performance, a minor incident
	IndicatorMajor       Indicator = "major"       // a partial outage
	IndicatorCritical    Indicator = "critical"    // a major outage
	IndicatorMaintenance Indicator = "maintenance" // scheduled maintenance under way
	// IndicatorUnknown: the page could not be fetched or parsed (Status.Error says why). It is
	// never a signal: an unreadable page is not an outage.
	IndicatorUnknown Indicator = "unknown"
)

// Component is one component of a provider's page, with the models it was mapped to.
type Component struct {
	Name string `json:"name"`
	// Status is the page's own word (operational, degraded_performance, partial_outage,
	// major_outage, under_maintenance).
	Status string `json:"status"`
	// Models are the outagewatch models the component stands for (Source.Components); empty
	// when it stands for the whole provider or was not mapped.
	Models []string `json:"models,omitempty"`
}

// Incident is one incident the provider posted.
type Incident struct {
	// ID is the page's own ID of the incident.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Status is the page's word: investigating, identified, monitoring, resolved, postmortem.
	Status string `json:"status"`
	// Impact is none, minor, major or critical.
	Impact string `json:"impact"`
	URL    string `json:"url,omitempty"`
	// CreatedAt is the provider's first post of it; ResolvedAt is zero while it is open.
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Components are the names of the components it affects; Models the outagewatch models
	// they, or the incident's name, were mapped to.
	Components []string `json:"components,omitempty"`
	Models     []string `json:"models,omitempty"`
}

// Open reports whether the incident is not resolved yet.
func (i Incident) Open() bool { return i.ResolvedAt.IsZero() }

// Status is what a provider's page says, as last read.
type Status struct {
	Provider string `json:"provider"`
	// Page is the human page's URL (https://status.anthropic.com).
	Page      string    `json:"page"`
	Indicator Indicator `json:"indicator"`
	// Description is the page's own summary ("All Systems Operational", "Partial System
	// Outage").
	Description string      `json:"description,omitempty"`
	Components  []Component `json:"components,omitempty"`
	// Incidents are the open incidents and those resolved in the last 24 hours, newest first.
	Incidents []Incident `json:"incidents,omitempty"`
	// CheckedAt is the last attempt to read the page, FetchedAt the last success (zero until
	// one).
	CheckedAt time.Time `json:"checked_at"`
	FetchedAt time.Time `json:"fetched_at,omitzero"`
	// Error says why the indicator is unknown: the last attempt failed ("GET ...: timeout",
	// "body over 4 MiB", "parse: ..."). Everything else is then the last good read, if any.
	Error string `json:"error,omitempty"`
}

// OpenIncidents returns the incidents not resolved yet.
func (s Status) OpenIncidents() []Incident {
	var out []Incident
	for _, i := range s.Incidents {
		if i.Open() {
			out = append(out, i)
		}
	}
	return out
}
