// Package vendorstatus reads the providers' own status pages (Atlassian Statuspage v2 JSON,
// incident.io's Statuspage-compatible JSON, Google Cloud's incidents.json) and keeps what each
// says beside outagewatch's own verdict, never instead of it: an unreadable page is unknown,
// never an outage. It is not the status page outagewatch serves (package statuspage).
package vendorstatus
