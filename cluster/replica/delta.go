package replica

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/outagewatch/outagewatch/detectors"
)

// Deltas. Every second the leader's engine moves the figures of every series with traffic, and
// little else: an update frame that carried every status again would cost about 220 bytes a
// series (2.2 MB a second for 10,000 series, to every follower). While the board holds the same
// series in the same order as the stream's last frame, an update frame carries instead the
// statuses that changed beyond their figures, whole, and the figures that moved, each with its
// index; a follower patches the statuses it holds. Any other change of the board (a series
// added or gone) sends every status.

// statusAt is a status that changed beyond its figures, at index I of the board.
type statusAt struct {
	I uint32
	S detectors.Status
}

// figuresAt are the new figures of the status at index I.
type figuresAt struct {
	I uint32
	F detectors.Figures
}

// diff returns what changed from old to cur, and false when they do not hold the same series
// in the same order.
func diff(old, cur []detectors.Status) (changed []statusAt, figures []figuresAt, ok bool) {
	if len(old) != len(cur) {
		return nil, nil, false
	}
	for i := range cur {
		o, c := old[i], cur[i]
		if o.Series != c.Series {
			return nil, nil, false
		}
		if c.Figures != o.Figures {
			figures = append(figures, figuresAt{I: uint32(i), F: c.Figures})
		}
		o.Figures = c.Figures
		if !reflect.DeepEqual(o, c) { // evidence, state, local verdicts: rare
			changed = append(changed, statusAt{I: uint32(i), S: c})
		}
	}
	return changed, figures, true
}

// patch returns a copy of old with changed and figures applied.
func patch(old []detectors.Status, changed []statusAt, figures []figuresAt) ([]detectors.Status, error) {
	cur := slices.Clone(old)
	for _, c := range changed {
		if int(c.I) >= len(cur) || cur[c.I].Series != c.S.Series {
			return nil, fmt.Errorf("delta: status %d of %d does not follow on", c.I, len(cur))
		}
		cur[c.I] = c.S
	}
	for _, f := range figures {
		if int(f.I) >= len(cur) {
			return nil, fmt.Errorf("delta: figures %d of %d do not follow on", f.I, len(cur))
		}
		cur[f.I].Figures = f.F
	}
	return cur, nil
}
