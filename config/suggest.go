package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// unknownKeyContext finds the unknown key `key` at `line` of doc and
// returns the field path of the mapping holding it ("" at the top) and
// the closest known key, if one is close enough to be a typo.
func unknownKeyContext(doc []byte, line int, key string) (path, suggestion string) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil || len(root.Content) == 0 {
		return "", ""
	}
	path, suggestion, _ = findKey(root.Content[0], reflect.TypeOf(Config{}), "", line, key)
	return path, suggestion
}

func findKey(n *yaml.Node, t reflect.Type, path string, line int, key string) (string, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		var names []string
		fields := map[string]reflect.Type{}
		for j := 0; j < t.NumField(); j++ {
			f := t.Field(j)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.IsExported() && name != "" && name != "-" {
				names = append(names, name)
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, known := fields[k.Value]
			if !known {
				if k.Line == line && k.Value == key {
					return path, closest(key, names), true
				}
				continue
			}
			if p, s, ok := findKey(n.Content[i+1], ft, join(k.Value), line, key); ok {
				return p, s, true
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p, s, ok := findKey(n.Content[i+1], t.Elem(), join(n.Content[i].Value), line, key); ok {
				return p, s, true
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if p, s, ok := findKey(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), line, key); ok {
				return p, s, true
			}
		}
	}
	return "", "", false
}

// closest returns the name within edit distance 2 (or a prefix match) of
// key, or "".
func closest(key string, names []string) string {
	best, bestD := "", 3
	for _, name := range names {
		d := editDistance(key, name)
		if strings.HasPrefix(name, key) || strings.HasPrefix(key, name) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance (keys are short; no library
// needed for a few dozen comparisons).
func editDistance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
