package rules

import (
	"slices"
	"time"
)

// TargetExpiry is how long a destination that is no longer registered keeps its deliveries
// before RegisterTargets drops it. It is alerts.TargetExpiry, which the stores cannot import
// (alerts is their sibling): change both together.
const TargetExpiry = time.Hour

// Destinations returns the destinations to register: sorted, so that concurrent registrations
// lock their rows in one order, and without duplicates, which a single upsert cannot take twice.
func Destinations(destinations []string) []string {
	out := slices.Clone(destinations)
	slices.Sort(out)
	return slices.Compact(out)
}
