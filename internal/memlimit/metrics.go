package memlimit

import (
	"math"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the outagewatch_memory_* metrics; the process collector's
// process_resident_memory_bytes gives the resident set beside them.
type metrics struct {
	shed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Shedder) *metrics {
	f := promauto.With(reg)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_memory_limit_bytes",
		Help: "The memory ceiling the daemon keeps under (memory.limit, GOMEMLIMIT or the cgroup); 0 when there is none.",
	}, func() float64 { return float64(s.ceiling) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_memory_soft_limit_bytes",
		Help: "The Go runtime's soft memory limit (debug.SetMemoryLimit, GOMEMLIMIT); 0 when there is none.",
	}, softLimit)
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_memory_in_use_bytes",
		Help: "Memory the process cannot give back (mapped by the Go runtime less released, free and dead heap), which shedding compares with the ceiling.",
	}, func() float64 { return float64(s.InUse()) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "outagewatch_memory_shedding",
		Help: "1 while new work is refused for lack of memory, else 0.",
	}, func() float64 {
		if s.Shedding() {
			return 1
		}
		return 0
	})
	return &metrics{shed: f.NewCounter(prometheus.CounterOpts{
		Name: "outagewatch_memory_shed_total",
		Help: "Decisions to refuse work for lack of memory (each refused request or batch counts once).",
	})}
}

// softLimit reads the runtime's soft limit without changing it.
func softLimit() float64 {
	n := debug.SetMemoryLimit(-1)
	if n == math.MaxInt64 {
		return 0
	}
	return float64(n)
}
