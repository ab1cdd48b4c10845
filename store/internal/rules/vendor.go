package rules

import "github.com/outagewatch/outagewatch/incidents"

// MergeVendor returns inc with the provider's post v recorded as incidents.Change.Vendor
// documents: the ID, name and URL are kept from the first link, PostedAt becomes the earliest
// and ResolvedAt the latest non-zero time. Both stores run it after Merge, on the incident locked
// for the transaction, so that a post is recorded on a resolved incident as well (without
// reopening it).
func MergeVendor(inc incidents.Incident, v *incidents.VendorPost) incidents.Incident {
	if v == nil {
		return inc
	}
	out := &inc.Vendor
	if out.ID == "" && v.ID != "" {
		out.ID, out.Name, out.URL = v.ID, v.Name, v.URL
	}
	if at := Time(v.PostedAt); !at.IsZero() && (out.PostedAt.IsZero() || at.Before(out.PostedAt)) {
		out.PostedAt = at
	}
	if at := Time(v.ResolvedAt); at.After(out.ResolvedAt) {
		out.ResolvedAt = at
	}
	return inc
}
