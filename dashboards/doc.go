// Package dashboards holds outagewatch's Grafana dashboards (grafana/*.json), their provisioning
// files (provisioning/) and the Prometheus alerting rules (rules.yml); README.md says how to use
// them and what each panel means.
//
// It has no Go code but its tests, which prove the files against the real thing: a Prometheus
// scraping the daemon under traffic with an outage evaluates every panel's and rule's PromQL, a
// linter checks every metric and label they name against the daemon's /metrics, and every SQL
// query runs against the migrated Postgres schema. The tests need prometheus, promtool and the
// PostgreSQL server binaries: scripts/test.sh installs them where missing. Nothing may import
// this package.
package dashboards
