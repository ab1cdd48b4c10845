package wire

import (
	"cmp"

	"github.com/outagewatch/outagewatch/ingest/normalize"
)

// resourceKeys are the resource attributes a call keeps (normalize.Resource), in the order of
// resourceReader.vals.
var resourceKeys = [...]string{"service.name", "service.namespace", "deployment.environment.name", "deployment.environment"}

// resourceReader collects the resource attributes of one ResourceSpans. The first value of a
// key wins, as with pdata's Map.Get, so that both paths read the same resource.
type resourceReader struct {
	vals [len(resourceKeys)]string
	have [len(resourceKeys)]bool
}

// slot returns the index of k in resourceKeys while k's first value is still to be read, else -1.
func (r *resourceReader) slot(k string) int {
	if len(k) < len("service.name") || (k[0] != 's' && k[0] != 'd') {
		return -1
	}
	for i, rk := range resourceKeys {
		if k == rk && !r.have[i] {
			return i
		}
	}
	return -1
}

func (r *resourceReader) set(i int, v string) {
	r.vals[i], r.have[i] = normalize.CapString(v, 128), true
}

// resource returns what the calls keep: deployment.environment.name, else the older
// deployment.environment.
func (r *resourceReader) resource() normalize.Resource {
	return normalize.Resource{Service: r.vals[0], Namespace: r.vals[1], Environment: cmp.Or(r.vals[2], r.vals[3])}
}
