package strictyaml

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Decode decodes the one YAML document in data strictly into dst, over the values dst holds; an
// empty or null document leaves it alone. dst must be a non-nil pointer to a struct. Errors name
// the file, the line and the field path ("watcher.yaml:3: ingest.grpc_adr: unknown field (did
// you mean grpc_addr?)"), one per problem.
//
// yaml.v3's own errors name neither the path nor, for unknown fields, a suggestion, so a walk of
// the node tree against the yaml tags of dst's type finds the problems first. The strict decoder
// (KnownFields) then fills dst and still refuses anything the walk missed.
func Decode(file string, data []byte, dst any) error {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct || reflect.ValueOf(dst).IsNil() {
		return fmt.Errorf("strictyaml: decode into %T: want a non-nil pointer to a struct", dst)
	}
	root, err := parseDocument(file, data)
	if err != nil || root == nil {
		return err
	}
	c := checker{file: file, seen: map[visit]bool{}, merged: map[visit]bool{}, active: map[*yaml.Node]bool{}}
	c.check(root, t.Elem(), "")
	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// parseDocument returns the root node of the only document in data, or nil when the document is
// empty or null. A second document is an error rather than silently ignored.
func parseDocument(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, next yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := dec.Decode(&next); err == nil {
		return nil, fmt.Errorf("%s:%d: want one YAML document, found another", file, next.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, nil
	}
	return doc.Content[0], nil
}

// maxCheckSteps bounds the walk, so that aliases nested into an exponential tree cannot make it
// run for ever; yaml.v3's decoder has the same kind of limit.
const maxCheckSteps = 100_000

// checker walks a node tree against a Go type and collects an error for each problem.
type checker struct {
	file  string
	errs  []error
	steps int
	// seen and merged hold what has been checked, so that a node reached again through an
	// alias is checked once per path; active holds the nodes being checked, to catch cycles.
	seen, merged map[visit]bool
	active       map[*yaml.Node]bool
}

type visit struct {
	node *yaml.Node
	path string
}

func (c *checker) errorf(n *yaml.Node, path, format string, args ...any) {
	where := fmt.Sprintf("%s:%d", c.file, n.Line)
	if path != "" {
		where += ": " + path
	}
	c.errs = append(c.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

// check reports every problem of n as a value of type t at path. A null leaves the value alone,
// as the decoder does.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) {
	orig, n := n, resolve(n)
	if n == nil || isNull(n) || c.seen[visit{n, path}] {
		return
	}
	c.seen[visit{n, path}] = true
	if c.steps++; c.steps > maxCheckSteps {
		if c.steps == maxCheckSteps+1 {
			c.errorf(orig, path, "document too complex")
		}
		return
	}
	if c.active[n] {
		c.errorf(orig, path, "alias refers to a node that contains it")
		return
	}
	c.active[n] = true
	defer delete(c.active, n)
	c.checkType(orig, t, path)
}

// checkType checks n, which may be an alias: errors about the value as a whole point at the
// alias, where the value is used, and errors inside it at the anchored node.
func (c *checker) checkType(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case isLeaf(t):
		c.checkLeaf(n, t, path)
	case t.Kind() == reflect.Struct:
		c.checkStruct(n, t, path)
	case t.Kind() == reflect.Map:
		c.checkMap(n, t, path)
	default:
		c.checkList(n, t, path)
	}
}

func (c *checker) checkStruct(at *yaml.Node, t reflect.Type, path string) {
	n := resolve(at)
	if n.Kind != yaml.MappingNode {
		c.errorf(at, path, "want a mapping, got %s", describeNode(n))
		return
	}
	fields := yamlFields(t)
	for _, p := range c.pairs(n, path) {
		ft, ok := fields.lookup(p.name)
		if !ok {
			c.errorf(p.key, joinPath(path, p.name), "unknown field (%s)", fields.hint(p.name))
			continue
		}
		c.check(p.value, ft, joinPath(path, p.name))
	}
}

func (c *checker) checkMap(at *yaml.Node, t reflect.Type, path string) {
	n := resolve(at)
	if n.Kind != yaml.MappingNode {
		c.errorf(at, path, "want a mapping, got %s", describeNode(n))
		return
	}
	for _, p := range c.pairs(n, path) {
		elem := fmt.Sprintf("%s[%s]", path, quoteShort(p.name))
		if t.Key().Kind() != reflect.String {
			c.checkLeaf(p.key, t.Key(), elem)
		}
		c.check(p.value, t.Elem(), elem)
	}
}

// checkList checks slices and arrays; the decoder reports an array of the wrong length.
func (c *checker) checkList(at *yaml.Node, t reflect.Type, path string) {
	n := resolve(at)
	if n.Kind != yaml.SequenceNode {
		c.errorf(at, path, "want a list, got %s", describeNode(n))
		return
	}
	for i, item := range n.Content {
		c.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
	}
}

// checkLeaf decodes n into a scratch value of type t, which is what the real decode will do.
func (c *checker) checkLeaf(n *yaml.Node, t reflect.Type, path string) {
	if isInteger(t) && t != durationType && resolve(n).ShortTag() == "!!float" {
		// yaml.v3 would truncate 1.5 to 1 without a word.
		c.errorf(n, path, "want %s, got %s", describeType(t), describeNode(n))
		return
	}
	err := n.Decode(reflect.New(t).Interface())
	if _, ok := errors.AsType[*yaml.TypeError](err); ok {
		c.errorf(n, path, "want %s, got %s", describeType(t), describeNode(n))
	} else if err != nil {
		c.errorf(n, path, "%v", err)
	}
}

// pair is one entry of a mapping: key is the node as written, for its line; name is its value.
type pair struct {
	name       string
	key, value *yaml.Node
}

// pairs returns the entries of mapping n followed by those it merges in with "<<", and reports
// keys that are not scalars or that appear twice.
func (c *checker) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	var merges []*yaml.Node
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if isMerge(key) {
			merges = append(merges, value)
			continue
		}
		k := resolve(key)
		if k == nil || k.Kind != yaml.ScalarNode {
			c.errorf(key, path, "want a scalar key, got %s", describeNode(key))
			continue
		}
		if line, dup := lines[k.Value]; dup {
			c.errorf(key, path, "key %s appears twice (first on line %d)", quoteShort(k.Value), line)
			continue
		}
		lines[k.Value] = key.Line
		out = append(out, pair{name: k.Value, key: key, value: value})
	}
	for _, m := range merges {
		out = append(out, c.mergedPairs(m, path)...)
	}
	return out
}

// mergedPairs returns the entries that the "<<" value m merges in: a mapping, an alias of one, or a
// list of those (the shapes yaml.v3 accepts). Each mapping is expanded once per path, and a
// mapping that merges itself, directly or not, is an error as in yaml.v3.
func (c *checker) mergedPairs(m *yaml.Node, path string) []pair {
	items := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		items = m.Content
	}
	var out []pair
	for _, item := range items {
		mapping := resolve(item)
		if mapping == nil || mapping.Kind != yaml.MappingNode {
			c.errorf(item, path, "merge (<<) wants a mapping or a list of mappings, got %s", describeNode(item))
			continue
		}
		switch v := (visit{mapping, path}); {
		case c.active[mapping]:
			c.errorf(item, path, "merge (<<) of a mapping that contains it")
		case !c.merged[v]:
			c.merged[v] = true
			c.active[mapping] = true
			out = append(out, c.pairs(mapping, path)...)
			delete(c.active, mapping)
		}
	}
	return out
}

// yamlField is a key that a struct accepts, with the type of its value.
type yamlField struct {
	name string
	typ  reflect.Type
}

type yamlFieldList []yamlField

// yamlFields lists the keys of struct t as yaml.v3 names them: the tag, else the lowercased field
// name; inline structs are flattened. Inline maps are not supported: their keys would be reported.
func yamlFields(t reflect.Type) yamlFieldList {
	var out yamlFieldList
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case !f.IsExported() || name == "-":
		case ft.Kind() == reflect.Struct && strings.Contains(","+opts+",", ",inline,"):
			out = append(out, yamlFields(ft)...)
		case name == "":
			out = append(out, yamlField{strings.ToLower(f.Name), f.Type})
		default:
			out = append(out, yamlField{name, f.Type})
		}
	}
	return out
}

func (l yamlFieldList) lookup(name string) (reflect.Type, bool) {
	for _, f := range l {
		if f.name == name {
			return f.typ, true
		}
	}
	return nil, false
}

// hint suggests the closest key within an edit distance of 2, or else lists the valid ones.
func (l yamlFieldList) hint(name string) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(l))
	for _, f := range l {
		names = append(names, f.name)
		if d := editDistance(strings.ToLower(name), f.name, bestDist); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	if best != "" {
		return "did you mean " + best + "?"
	}
	return "valid: " + strings.Join(names, ", ")
}

// editDistance is the Levenshtein distance between a and b, or limit when it is at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > len(b)+limit || len(b) > len(a)+limit {
		return limit
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isLeaf reports whether values of t are decoded whole rather than walked into.
func isLeaf(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	if pt.Implements(yamlUnmarshalerType) || pt.Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
		return false
	}
	return true
}

func isInteger(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 15s or 1m30s"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case isInteger(t):
		return "a non-negative integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}

func describeNode(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!str":
		return quoteShort(n.Value)
	}
	return cut(n.Value)
}

// quoteShort quotes s, cut to 40 runes.
func quoteShort(s string) string {
	return strconv.Quote(cut(s))
}

// cut shortens s to 40 runes: values from the file end up in error messages.
func cut(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return s
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// resolve follows an alias to its anchor. The parser refuses unknown anchors, so Alias is set.
func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isMerge mirrors yaml.v3: a plain "<<" key, untagged or tagged !!merge.
func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.Tag == "!!merge")
}
