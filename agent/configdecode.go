package agent

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// problem is one thing wrong with a configuration: its dotted key, and the
// line of the file that sets it where there is one.
type problem struct {
	line     int
	key, msg string
}

// String is "line N: key: message", without the parts it lacks.
func (p problem) String() string {
	s := p.msg
	if p.key != "" {
		s = p.key + ": " + s
	}
	if p.line > 0 {
		s = fmt.Sprintf("line %d: %s", p.line, s)
	}
	return s
}

// configDecoder sets a Config from a YAML node tree, walking it against the
// struct's yaml tags so that every problem knows its key and line, and the
// rest of the file is still applied and checked.
type configDecoder struct {
	problems []problem
	lines    map[string]int  // the line of each key the file sets
	bad      map[string]bool // keys whose value was not applied
	steps    int             // nodes visited; aliases revisit nodes
	maxSteps int
}

func newConfigDecoder(size int) *configDecoder {
	// Without aliases a node takes at least a byte of the file.
	return &configDecoder{lines: map[string]int{}, bad: map[string]bool{}, maxSteps: size + 1000}
}

func (d *configDecoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.problems = append(d.problems, problem{line: n.Line, key: key, msg: fmt.Sprintf(format, args...)})
	d.bad[key] = true
}

// add records a problem found after decoding, with the line that sets its
// key.
func (d *configDecoder) add(p problem) {
	p.line = d.lines[p.key]
	d.problems = append(d.problems, p)
}

// tooMuch reports whether aliases have made the walk longer than the file
// could without them (YAML's "billion laughs").
func (d *configDecoder) tooMuch() bool {
	d.steps++
	return d.steps > d.maxSteps
}

var durationType = reflect.TypeFor[time.Duration]()

// decode sets v from n; where n does not fit v, v keeps its value (the
// default) and the problem is recorded under key.
func (d *configDecoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if d.tooMuch() {
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" with nothing after it keeps the default
	}
	t := v.Type()
	custom := t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
	switch {
	case t == durationType || custom:
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, key, "want %s, not %s", want(t), what(n))
			return
		}
		fields := yamlFields(t)
		d.pairs(n, key, func(k, val *yaml.Node, name, path string) {
			i := slices.IndexFunc(fields, func(f yamlField) bool { return f.name == name })
			if i < 0 {
				d.fail(k, path, "unknown key%s", unknownKeyHint(name, key, fields))
				return
			}
			d.decode(val, v.FieldByIndex(fields[i].index), path)
		})
		return
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		if n.Kind != yaml.MappingNode {
			d.fail(n, key, "want %s, not %s", want(t), what(n))
			return
		}
		m := reflect.MakeMap(t)
		d.pairs(n, key, func(_, val *yaml.Node, name, path string) {
			e := reflect.New(t.Elem()).Elem()
			if def, ok := e.Addr().Interface().(entryDefaulter); ok {
				def.setDefaults()
			}
			d.decode(val, e, path)
			m.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), e)
		})
		v.Set(m)
		return
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "want %s, not %s", want(t), what(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
		return
	case t.Kind() == reflect.Pointer:
		p := reflect.New(t.Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		d.decode(n, p.Elem(), key)
		v.Set(p)
		return
	}
	// A single value.
	if n.Kind != yaml.ScalarNode && t.Kind() != reflect.Interface && !custom {
		d.fail(n, key, "want %s, not %s", want(t), what(n))
		return
	}
	p := reflect.New(t)
	if err := n.Decode(p.Interface()); err != nil {
		d.fail(n, key, "want %s, not %s", want(t), what(n))
		return
	}
	v.Set(p.Elem())
}

// entryDefaulter is a map entry type with defaults of its own (a camera
// of cameras:, a region): they are set before the file's keys apply.
type entryDefaulter interface{ setDefaults() }

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// pairs calls each for every key of mapping n, merged keys ("<<") first so
// that the mapping's own override them; a key set twice is a problem.
func (d *configDecoder) pairs(n *yaml.Node, key string, each func(k, v *yaml.Node, name, path string)) {
	first := map[string]int{}
	for pass := range 2 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if d.steps > d.maxSteps {
				return
			}
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			merge := k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
			if merge != (pass == 0) {
				continue
			}
			if merge {
				d.merge(v, key, each)
				continue
			}
			if k.Kind != yaml.ScalarNode {
				d.fail(k, key, "a key must be a name, not %s", what(k))
				continue
			}
			name := k.Value
			path := shorten(name, 64)
			if key != "" {
				path = key + "." + path
			}
			if line, ok := first[name]; ok {
				d.fail(k, path, "set twice (first on line %d)", line)
				continue
			}
			first[name] = k.Line
			d.lines[path] = k.Line
			each(k, v, name, path)
		}
	}
}

// merge applies the mapping, or the list of mappings, of a "<<" key: in a
// list the first mapping wins, so they apply last to first.
func (d *configDecoder) merge(v *yaml.Node, key string, each func(k, v *yaml.Node, name, path string)) {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	maps := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		maps = slices.Clone(v.Content)
		slices.Reverse(maps)
	}
	for _, m := range maps {
		if d.tooMuch() {
			return
		}
		if m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		if m.Kind != yaml.MappingNode {
			d.fail(m, key, "<< merges a mapping of keys or a list of them, not %s", what(m))
			continue
		}
		d.pairs(m, key, each)
	}
}

// yamlField is one key a struct takes: its yaml tag (the one place key
// names are spelled) and where the field is.
type yamlField struct {
	name  string
	index []int
}

// yamlFields lists the keys of struct type t as yaml names them, inlined
// structs' keys included.
func yamlFields(t reflect.Type) []yamlField {
	var out []yamlField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			for _, sub := range yamlFields(f.Type) {
				out = append(out, yamlField{sub.name, append(slices.Clone(f.Index), sub.index...)})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, yamlField{name, f.Index})
	}
	return out
}

// want says what a value of type t is written as.
func want(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 10s"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "a mapping of keys"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return "a value"
}

// what describes what the file has at n.
func what(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return what(n.Alias)
	}
	return strconv.Quote(shorten(n.Value, 40))
}

// shorten shortens s to at most n bytes (and whole characters) for a message.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// unknownKeyHint is what follows "unknown key": the closest keys of this
// section, else the sections that take name, else the keys of this section.
func unknownKeyHint(name, section string, fields []yamlField) string {
	var names []string
	for _, f := range fields {
		names = append(names, f.name)
	}
	if len(name) <= 64 {
		if close := closest(name, names); len(close) > 0 {
			return "; did you mean " + orList(close) + "?"
		}
	}
	var elsewhere []string
	for _, p := range allConfigKeys() {
		if p == name || strings.HasSuffix(p, "."+name) {
			elsewhere = append(elsewhere, p)
		}
	}
	if len(elsewhere) > 0 {
		return "; did you mean " + orList(elsewhere) + "?"
	}
	return " (the keys here: " + strings.Join(names, ", ") + ")"
}

// allConfigKeys is every key of Config, listed once: a file of many
// unknown keys asks for them once per key.
var allConfigKeys = sync.OnceValue(func() []string { return configKeys(reflect.TypeFor[Config](), "") })

// configKeys lists the dotted keys of struct type t, sections and values.
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	for _, f := range yamlFields(t) {
		p := prefix + f.name
		out = append(out, p)
		if ft := t.FieldByIndex(f.index).Type; ft.Kind() == reflect.Struct && ft != durationType {
			out = append(out, configKeys(ft, p+".")...)
		}
	}
	return out
}

// closest lists the known names a mistyped name most likely means: those
// within a few edits (a third of its length), else those it is one
// '_'-separated word of ("qos" for labels_qos).
func closest(name string, known []string) []string {
	lower := strings.ToLower(name)
	best, bestD := []string(nil), max(1, (len(name)+1)/3)+1
	for _, k := range known {
		switch d := editDistance(lower, k); {
		case d < bestD:
			best, bestD = []string{k}, d
		case d == bestD:
			best = append(best, k)
		}
	}
	if best != nil {
		return best
	}
	for _, k := range known {
		if slices.Contains(strings.Split(k, "_"), lower) {
			best = append(best, k)
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
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
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// orList writes "a", "a or b", "a, b or c".
func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
