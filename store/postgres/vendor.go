package postgres

import (
	"github.com/outagewatch/outagewatch/incidents"
	"github.com/outagewatch/outagewatch/store/internal/rules"
)

// mergeVendor returns inc with the provider's post v recorded as incidents.Change.Vendor
// documents: the ID, name and URL are kept from the first link, PostedAt becomes the earliest
// and ResolvedAt the latest non-zero time. It runs after rules.Merge, on the incident locked for
// the transaction, so that a post is recorded on a resolved incident as well (without reopening
// it). store/postgres and store/sqlite hold the same function; it belongs in rules, which
// another change owns.
func mergeVendor(inc incidents.Incident, v *incidents.VendorPost) incidents.Incident {
	if v == nil {
		return inc
	}
	out := &inc.Vendor
	if out.ID == "" && v.ID != "" {
		out.ID, out.Name, out.URL = v.ID, v.Name, v.URL
	}
	if at := rules.Time(v.PostedAt); !at.IsZero() && (out.PostedAt.IsZero() || at.Before(out.PostedAt)) {
		out.PostedAt = at
	}
	if at := rules.Time(v.ResolvedAt); at.After(out.ResolvedAt) {
		out.ResolvedAt = at
	}
	return inc
}
