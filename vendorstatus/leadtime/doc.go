// Package leadtime links the providers' own status-page incidents (package vendorstatus) to
// outagewatch's provider incidents and measures the lead time outagewatch gives: how long after
// our detection the provider posted (negative when the provider was first). It records the link,
// and the provider's resolution later, on the incident through the incident store, with the
// events vendor_posted and vendor_resolved that Slack and the webhooks announce in the
// incident's thread.
//
// It only adds the provider's word beside our verdict: it never opens, changes the state of, or
// resolves an incident. It keeps package vendorstatus free of package incidents.
package leadtime
