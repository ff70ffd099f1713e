package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TeamMap is the teams mapping. It decodes itself because yaml.v3 checks a
// mapping's keys for duplicates by comparing every pair, which made 20,000
// teams take seconds and 200,000 never finish: here the duplicate check is
// one map lookup per key. Each team is decoded from its node; as Node.Decode
// does not apply the decoder's KnownFields, unknownKeys reports unknown keys
// itself, in yaml.v3's words, so cleanYAMLError words them like every other
// unknown key.
type TeamMap map[string]*Team

var teamType = reflect.TypeOf(Team{})

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *TeamMap) UnmarshalYAML(value *yaml.Node) error {
	n := value
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode || hasMergeKey(n) {
		// Not a mapping (yaml.v3 words the error) or with merge keys
		// (rare in a team list): yaml.v3's own path.
		var plain map[string]*Team
		errs := unknownKeys(n, reflect.TypeOf(plain))
		if err := n.Decode(&plain); err != nil && !addTypeErrors(&errs, err) {
			return err
		}
		*m = plain
		if len(errs) > 0 {
			return &yaml.TypeError{Errors: errs}
		}
		return nil
	}
	if errs := duplicateKeys(n); len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	var errs []string
	out := make(TeamMap, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var name string
		if err := k.Decode(&name); err != nil {
			if !addTypeErrors(&errs, err) {
				return err
			}
			continue
		}
		teamErrs := unknownKeys(v, teamType)
		var t *Team
		if err := v.Decode(&t); err != nil && !addTypeErrors(&teamErrs, err) {
			return err
		}
		// In document order, as one decoder would have found them.
		sort.SliceStable(teamErrs, func(i, j int) bool { return errorLine(teamErrs[i]) < errorLine(teamErrs[j]) })
		errs = append(errs, teamErrs...)
		out[name] = t
	}
	*m = out
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// duplicateKeys reports keys given more than once in mapping n in
// yaml.v3's words and order (every later occurrence against every earlier
// one), with one map lookup per key instead of yaml.v3's comparison of
// every pair.
func duplicateKeys(n *yaml.Node) []string {
	type at struct{ i, j int }
	seen := make(map[string][]int, len(n.Content)/2)
	var dups []at
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		for _, e := range seen[k.Value] {
			if n.Content[e].Kind == k.Kind {
				dups = append(dups, at{e, i})
			}
		}
		seen[k.Value] = append(seen[k.Value], i)
	}
	sort.Slice(dups, func(a, b int) bool {
		if dups[a].i != dups[b].i {
			return dups[a].i < dups[b].i
		}
		return dups[a].j < dups[b].j
	})
	var errs []string
	for _, d := range dups {
		ni, nj := n.Content[d.i], n.Content[d.j]
		errs = append(errs, fmt.Sprintf("line %d: mapping key %#v already defined at line %d", nj.Line, nj.Value, ni.Line))
	}
	return errs
}

// errorLine is N of a "line N: ..." decoder message (0 without one).
func errorLine(m string) int {
	var line int
	fmt.Sscanf(m, "line %d:", &line)
	return line
}

func addTypeErrors(errs *[]string, err error) bool {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return false
	}
	*errs = append(*errs, te.Errors...)
	return true
}

func hasMergeKey(n *yaml.Node) bool {
	for i := 0; i < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			return true
		}
	}
	return false
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.Tag == "!" || k.ShortTag() == "!!merge")
}

// unknownKeys walks n against the Go type it decodes into and returns, for
// every mapping key no field of its struct takes, yaml.v3's KnownFields
// message ("line N: field K not found in type T").
func unknownKeys(n *yaml.Node, t reflect.Type) []string {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if isMergeKey(k) {
				// The merged mapping(s) fill the same struct.
				v := n.Content[i+1]
				for v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				if v.Kind == yaml.SequenceNode {
					for _, c := range v.Content {
						out = append(out, unknownKeys(c, t)...)
					}
				} else {
					out = append(out, unknownKeys(v, t)...)
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				out = append(out, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, t.String()))
				continue
			}
			out = append(out, unknownKeys(n.Content[i+1], ft)...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			out = append(out, unknownKeys(n.Content[i], t.Elem())...)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, unknownKeys(c, t.Elem())...)
		}
	}
	return out
}
