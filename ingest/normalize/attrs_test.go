package normalize

import "testing"

func TestKeyIDMatchesMap(t *testing.T) {
	for k, id := range keyIDs {
		if got := keyID(k); got != id {
			t.Errorf("keyID(%q) = %d, want %d", k, got, id)
		}
		if got := keyID(k + "x"); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k+"x", got)
		}
		if got := keyID(k[:len(k)-1]); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k[:len(k)-1], got)
		}
	}
	for _, k := range []string{"", "a", "gen_ai", "gen_ai.request.max_tokens", "service.name"} {
		if got := keyID(k); got != -1 {
			t.Errorf("keyID(%q) = %d, want -1", k, got)
		}
	}
}
