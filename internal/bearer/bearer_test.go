package bearer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/bearer"
	"github.com/outagewatch/outagewatch/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// tokenFile writes content to a new file and returns its path.
func tokenFile(t *testing.T, content string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "token")
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}

// load loads name=value pairs written to files.
func load(t *testing.T, pairs ...string) *bearer.Tokens {
	t.Helper()
	var cfg bearer.Config
	for i := 0; i < len(pairs); i += 2 {
		cfg.Tokens = append(cfg.Tokens, bearer.TokenConfig{Name: pairs[i], File: tokenFile(t, pairs[i+1]+"\n")})
	}
	tokens, err := bearer.Load(cfg)
	require.NoError(t, err)
	return tokens
}

func TestCheck(t *testing.T) {
	tokens := load(t, "collector", "s3cret-collector", "ops", "ops-token-2", "short", "x")
	require.Equal(t, 3, tokens.Len())
	for _, tc := range []struct {
		presented, name string
	}{
		{"s3cret-collector", "collector"},
		{"ops-token-2", "ops"},
		{"x", "short"},
		{"", ""},
		{"s3cret", ""},                  // a prefix
		{"s3cret-collector2", ""},       // an extension
		{"s3cret-collector\n", ""},      // the file's newline is not part of the token
		{"S3CRET-COLLECTOR", ""},        // case matters
		{"ops-token-", ""},              // a prefix of another token
		{strings.Repeat("x", 4096), ""}, // long
	} {
		name, ok := tokens.Check(tc.presented)
		assert.Equal(t, tc.name, name, "%q", tc.presented)
		assert.Equal(t, tc.name != "", ok, "%q", tc.presented)
	}
	var none *bearer.Tokens
	_, ok := none.Check("x")
	assert.False(t, ok)
	assert.Equal(t, 0, none.Len())
}

func TestLoadFileContent(t *testing.T) {
	tokens := load(t, "a", "  \ttok-a \r\n\n")
	name, ok := tokens.Check("tok-a")
	assert.True(t, ok)
	assert.Equal(t, "a", name)
}

func TestLoadErrors(t *testing.T) {
	good := tokenFile(t, "token-1\n")
	other := tokenFile(t, "token-2")
	for _, tc := range []struct {
		name string
		cfg  []bearer.TokenConfig
		want string
	}{
		{"no name", []bearer.TokenConfig{{File: good}}, "name is required"},
		{"duplicate name", []bearer.TokenConfig{{Name: "a", File: good}, {Name: "a", File: other}}, `duplicate name "a"`},
		{"no file", []bearer.TokenConfig{{Name: "a"}}, "file is required"},
		{"missing file", []bearer.TokenConfig{{Name: "a", File: filepath.Join(t.TempDir(), "none")}}, "no such file"},
		{"empty file", []bearer.TokenConfig{{Name: "a", File: tokenFile(t, "")}}, "empty"},
		{"blank file", []bearer.TokenConfig{{Name: "a", File: tokenFile(t, " \n\n")}}, "empty"},
		{"same token twice", []bearer.TokenConfig{{Name: "a", File: good}, {Name: "b", File: tokenFile(t, "token-1")}}, "same token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := bearer.Config{Tokens: tc.cfg}
			_, err := bearer.Load(cfg)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "token-1", "an error must not reveal a token")
			require.Error(t, cfg.Validate())
		})
	}
	empty, err := bearer.Load(bearer.Config{})
	require.NoError(t, err)
	assert.Equal(t, 0, empty.Len())
	assert.False(t, bearer.Config{}.Enabled())
}

func TestSetSwap(t *testing.T) {
	var zero bearer.Set
	_, ok := zero.Check("a")
	assert.False(t, ok, "the zero Set refuses")

	first, second := load(t, "old", "token-old"), load(t, "new", "token-new")
	s := bearer.NewSet(first)
	name, ok := s.Check("token-old")
	require.True(t, ok)
	assert.Equal(t, "old", name)
	assert.Same(t, first, s.Swap(second))
	assert.Same(t, second, s.Tokens())
	_, ok = s.Check("token-old")
	assert.False(t, ok)
	name, ok = s.Check("token-new")
	require.True(t, ok)
	assert.Equal(t, "new", name)
}

func TestFromHeader(t *testing.T) {
	for _, tc := range []struct {
		h, token string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer   abc  ", "abc", true},
		{"Bearer\tabc", "abc", true},
		{"  Bearer abc", "abc", true},
		{"Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g==", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer    ", "", false},
		{"Bearerabc", "", false},
		{"Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", false},
		{"abc", "", false},
		{"", "", false},
	} {
		token, ok := bearer.FromHeader(tc.h)
		assert.Equal(t, tc.ok, ok, "%q", tc.h)
		assert.Equal(t, tc.token, token, "%q", tc.h)
	}
}

func FuzzFromHeader(f *testing.F) {
	for _, s := range []string{"abc", "Bearer abc", "bearer  x ", "Bearer", "\tBearer\tz", "Bearer é", "Basic x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		token, ok := bearer.FromHeader(s)
		if ok && (token == "" || token != strings.TrimSpace(token)) {
			t.Fatalf("FromHeader(%q) = %q: empty or untrimmed", s, token)
		}
		if s != "" && s == strings.TrimSpace(s) {
			got, ok := bearer.FromHeader("Bearer " + s)
			if !ok || got != s {
				t.Fatalf("FromHeader(%q) = %q, %v; want %q", "Bearer "+s, got, ok, s)
			}
		}
	})
}
