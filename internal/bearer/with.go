package bearer

import (
	"crypto/sha256"
	"fmt"
)

// With returns t with one more token, given by value rather than a file (a secret from the
// environment, such as OUTAGEWATCH_API_TOKEN). t is unchanged. The rules are Load's: a name
// and a value are required, neither may repeat.
func (t *Tokens) With(name, value string) (*Tokens, error) {
	if name == "" || value == "" {
		return nil, fmt.Errorf("bearer: token %q: a name and a value are required", name)
	}
	d := sha256.Sum256([]byte(value))
	out := &Tokens{}
	if t != nil {
		out.tokens = append(out.tokens, t.tokens...)
	}
	for _, tk := range out.tokens {
		if tk.name == name {
			return nil, fmt.Errorf("bearer: duplicate name %q", name)
		}
		if tk.digest == d {
			return nil, fmt.Errorf("bearer: tokens %q and %q are the same token", tk.name, name)
		}
	}
	out.tokens = append(out.tokens, token{name: name, digest: d})
	return out, nil
}
