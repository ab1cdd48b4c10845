package hosts

import "testing"

func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/v1/chat/completions", "/openai/deployments/x/chat/completions", "/v1beta/models/g:generateContent", "//a//b", "/models/", ":::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := Route(path)
		if r == "" || r[0] != '/' {
			t.Fatalf("Route(%q) = %q: not a path", path, r)
		}
		if again := Route(r); again != r {
			t.Fatalf("Route is not idempotent: Route(%q) = %q, Route of that = %q", path, r, again)
		}
		_ = IsLLMPath(path)
	})
}
