package lease

import "github.com/prometheus/client_golang/prometheus"

// metrics are a replica's view of the election, read at scrape time.
type metrics struct{}

func newMetrics(reg prometheus.Registerer, l *Lease) *metrics {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_leader",
			Help: "1 while this replica leads the cluster (runs the engine, opens incidents, sends alerts), else 0.",
		}, func() float64 {
			if l.State().Leading {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_term",
			Help: "The cluster's leader term as this replica last read it; it grows at every change of leader.",
		}, func() float64 { return float64(l.State().Term) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "outagewatch_cluster_members",
			Help: "Replicas of the cluster that recorded themselves in Postgres in the last 10 lease TTLs (30 s by default), this one included.",
		}, func() float64 { return float64(l.State().Members) }),
	)
	return &metrics{}
}
