// Package charts holds the Helm chart of outagewatch (charts/outagewatch) and its tests: the
// chart is linted and rendered with Helm v4 (the module's tool, go tool helm) for each values
// file in charts/outagewatch/ci, every rendered manifest is decoded strictly into the Kubernetes
// API types, and the properties the chart promises (a non-root read-only container, probes,
// ports, the Postgres DSN from a Secret, a PodDisruptionBudget for a cluster, a configuration the
// daemon accepts, the rules and dashboards of dashboards/) are checked on the result.
package charts
