package vendorstatus

import (
	"path"
	"slices"
	"strings"
)

// match reports whether the case-insensitive shell pattern matches name. path.Match stops '*'
// at '/', which component names may contain ("Claude Console (platform.claude.com/x)"), so
// '/' is swapped for a control character on both sides first.
func match(pattern, name string) bool {
	ok, err := path.Match(fold(pattern), fold(name))
	return err == nil && ok
}

func fold(s string) string { return strings.ReplaceAll(strings.ToLower(s), "/", "\x1f") }

// validPattern reports whether path.Match accepts pattern.
func validPattern(pattern string) bool {
	_, err := path.Match(fold(pattern), "")
	return err == nil
}

// mapping finds the first mapping of src whose pattern matches name.
func (s Source) mapping(name string) (Mapping, bool) {
	for _, m := range s.Components {
		if match(m.Component, name) {
			return m, true
		}
	}
	return Mapping{}, false
}

// modelsOf returns the models the named components and the incident's name were mapped to,
// sorted and without duplicates.
func (s Source) modelsOf(incidentName string, components []string) []string {
	var out []string
	for _, c := range components {
		if m, ok := s.mapping(c); ok {
			out = append(out, m.Models...)
		}
	}
	for _, m := range s.Components {
		if len(m.Models) > 0 && match(m.Component, incidentName) {
			out = append(out, m.Models...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
