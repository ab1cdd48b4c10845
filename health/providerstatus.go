package health

import (
	"time"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/vendorstatus"
)

// The provider's own status page, beside our verdict (issue 25): the "provider_status" object of
// a provider (and of a model's answer). It informs the reader and never changes an answer: the
// state, usable, the reasons, the HTTP status code and the gRPC answer are the detectors' alone.

// VendorStatusSource says what each provider's own status page said when last read. VendorStatus
// must be safe for concurrent use and cheap (a map read): the API calls it for each provider of
// an answer at most about once a second per kind of answer, the status page once per provider
// per rendering. ok is false for a provider without a page or not read yet. The caller only
// reads the returned Status. main adapts vendorstatus' poller to it.
type VendorStatusSource interface {
	VendorStatus(provider string) (vendorstatus.Status, bool)
}

// VendorStatusSourceFunc adapts a function to VendorStatusSource.
type VendorStatusSourceFunc func(provider string) (vendorstatus.Status, bool)

// VendorStatus calls f(provider).
func (f VendorStatusSourceFunc) VendorStatus(provider string) (vendorstatus.Status, bool) {
	return f(provider)
}

// ProviderStatusView is the "provider_status" object: what the provider's own page says, and
// a note putting it beside our verdict.
type ProviderStatusView struct {
	// Indicator is none, minor, major, critical, maintenance or unknown (the page could not be
	// read: Error says why).
	Indicator   string `json:"indicator"`
	Description string `json:"description,omitempty"`
	Page        string `json:"page"`
	// Incidents are the page's open incidents, newest first; [] when none.
	Incidents []VendorIncidentView `json:"incidents"`
	// CheckedAt is the last attempt to read the page; FetchedAt the last success (null until
	// one).
	CheckedAt time.Time  `json:"checked_at"`
	FetchedAt *time.Time `json:"fetched_at"`
	Error     string     `json:"error,omitempty"`
	// Note is VendorNote's sentence; absent when the page and our verdict agree that all is
	// well.
	Note string `json:"note,omitempty"`
}

// VendorIncidentView is one open incident of a provider's page.
type VendorIncidentView struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Impact    string    `json:"impact"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Notes of VendorNote.
const (
	noteIncidentHealthy = "provider reports an incident; your traffic is healthy"
	noteConfirms        = "provider confirms: "
	noteNotPosted       = "not on the provider's status page yet"
	noteUnknown         = "provider status unknown"
)

// VendorNote says in words how the provider's page s stands beside our state ours, and whether it
// disagrees with it:
//   - the page cannot be read: "provider status unknown: <error>" (no disagreement: it says
//     nothing);
//   - it reports a problem (an open incident, or a minor, major or critical indicator) while
//     ours is healthy: "provider reports an incident; your traffic is healthy" (disagrees);
//     maintenance alone is no incident then;
//   - it reports one while ours is degraded or down: "provider confirms: <its newest open
//     incident's name, or its description>";
//   - it says all is operational while ours is degraded or down: "not on the provider's status
//     page yet" (disagrees);
//   - otherwise (both well, or ours unknown: no traffic to compare): "".
func VendorNote(ours detectors.State, s vendorstatus.Status) (note string, disagrees bool) {
	if s.Indicator == vendorstatus.IndicatorUnknown {
		if s.Error == "" {
			return noteUnknown, false
		}
		return noteUnknown + ": " + s.Error, false
	}
	problem, reports := vendorProblem(s)
	maintenance := s.Indicator == vendorstatus.IndicatorMaintenance && len(s.OpenIncidents()) == 0
	switch {
	case ours == detectors.StateHealthy && reports && !maintenance:
		return noteIncidentHealthy, true
	case ours != detectors.StateDegraded && ours != detectors.StateDown:
		return "", false
	case reports:
		return noteConfirms + problem, false
	}
	return noteNotPosted, true
}

// vendorProblem is what the page reports, if anything: its newest open incident's name or,
// without one, its description when its indicator is not "none" (maintenance included).
func vendorProblem(s vendorstatus.Status) (string, bool) {
	if open := s.OpenIncidents(); len(open) > 0 {
		return open[0].Name, true
	}
	switch s.Indicator {
	case vendorstatus.IndicatorMinor, vendorstatus.IndicatorMajor, vendorstatus.IndicatorCritical, vendorstatus.IndicatorMaintenance:
		if s.Description == "" {
			return string(s.Indicator), true
		}
		return s.Description, true
	}
	return "", false
}

// providerStatusOf is s as JSON beside our state ours.
func providerStatusOf(s vendorstatus.Status, ours detectors.State) *ProviderStatusView {
	v := &ProviderStatusView{
		Indicator: string(s.Indicator), Description: s.Description, Page: s.Page,
		Incidents: []VendorIncidentView{}, CheckedAt: s.CheckedAt.UTC(), Error: s.Error,
	}
	if !s.FetchedAt.IsZero() {
		at := s.FetchedAt.UTC()
		v.FetchedAt = &at
	}
	for _, i := range s.OpenIncidents() {
		v.Incidents = append(v.Incidents, VendorIncidentView{
			Name: i.Name, Status: i.Status, Impact: i.Impact, URL: i.URL, CreatedAt: i.CreatedAt.UTC(),
		})
	}
	v.Note, _ = VendorNote(ours, s)
	return v
}

// providerStatus is the "provider_status" object of provider beside state, our answer's state
// word; nil without a source or without a status for the provider.
func (a *API) providerStatus(provider, state string) *ProviderStatusView {
	if a.vendor == nil {
		return nil
	}
	s, ok := a.vendor.VendorStatus(provider)
	if !ok {
		return nil
	}
	ours, _ := detectors.ParseState(state) // our own words: always one of the four
	return providerStatusOf(s, ours)
}

// withProviderStatus adds each provider's "provider_status" to rep, beside the provider's state
// in rep (as rep's caller sees it).
func (a *API) withProviderStatus(rep *Report) {
	if a.vendor == nil {
		return
	}
	for i := range rep.Providers {
		pv := &rep.Providers[i]
		pv.ProviderStatus = a.providerStatus(pv.Provider, pv.State)
	}
}
