package incidents

import (
	"errors"
	"time"
)

// ErrSilenceNotFound is returned when deleting a silence that does not exist.
var ErrSilenceNotFound = errors.New("silence not found")

// Silence is a maintenance window: until Until, notifications of the incidents of Provider (of
// Model only, when set) are suppressed. Detection, incidents and the health signal carry on.
type Silence struct {
	ID       int64
	Provider string
	// Model limits the silence to one model; "" silences every model of the provider.
	Model string
	// Until is when the silence ends; it is active while now is before Until.
	Until     time.Time
	Reason    string
	CreatedBy string
	CreatedAt time.Time
}

// Active reports whether the silence is in force at now.
func (s Silence) Active(now time.Time) bool { return now.Before(s.Until) }
