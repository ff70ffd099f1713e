package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Defaults. A key left out of the file keeps these values.
var (
	DefaultHandoffs = Handoffs{
		StallAfter:         model.Duration(72 * time.Hour),
		StallClock:         ClockWorking,
		Bounce:             DefaultBounce,
		MaxStalledExported: 100,
	}
	DefaultBounce     = Bounce{Enabled: true}
	DefaultOwnership  = Ownership{Precedence: []string{ByMarker, ByAssignee}}
	DefaultMilestones = Milestones{
		GitHubByTitle:   true,
		JiraFixVersions: true,
		MinTeams:        2,
		MaxExported:     50,
		KeepCompleted:   model.Duration(14 * 24 * time.Hour),
	}
	DefaultStore        = Store{Path: "crossteam.db"}
	DefaultSync         = Sync{Interval: model.Duration(5 * time.Minute)}
	DefaultGitHubSource = GitHubSource{BaseURL: "https://api.github.com/"}
	DefaultJiraSource   = JiraSource{Deployment: JiraCloud}
	DefaultCalendar     = Calendar{
		Timezone:     "UTC",
		WorkingDays:  []string{"mon", "tue", "wed", "thu", "fri"},
		WorkingHours: WorkingHours{Start: "09:00", End: "17:00"},
	}
	DefaultConfig = Config{
		Dependencies: DefaultDependencies,
		Ownership:    DefaultOwnership,
		Handoffs:     DefaultHandoffs,
		Milestones:   DefaultMilestones,
		Store:        DefaultStore,
		Sync:         DefaultSync,
	}
)

// The UnmarshalYAML methods below set defaults before decoding. They use the
// func(any) error form on purpose: with it, the decoder's KnownFields setting
// reaches the nested structs, so unknown keys stay errors.

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = defaultConfig()
	type plain Config
	return unmarshal((*plain)(c))
}

// defaultConfig returns DefaultConfig with its slices copied.
func defaultConfig() Config {
	c := DefaultConfig
	c.Ownership.Precedence = append([]string(nil), DefaultOwnership.Precedence...)
	c.Dependencies.JiraLinkTypes = append([]string(nil), DefaultDependencies.JiraLinkTypes...)
	return c
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (h *Handoffs) UnmarshalYAML(unmarshal func(any) error) error {
	*h = DefaultHandoffs
	type plain Handoffs
	return unmarshal((*plain)(h))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Bounce) UnmarshalYAML(unmarshal func(any) error) error {
	*b = DefaultBounce
	type plain Bounce
	return unmarshal((*plain)(b))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *Milestones) UnmarshalYAML(unmarshal func(any) error) error {
	*m = DefaultMilestones
	type plain Milestones
	return unmarshal((*plain)(m))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Store) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultStore
	type plain Store
	return unmarshal((*plain)(s))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Sync) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultSync
	type plain Sync
	return unmarshal((*plain)(s))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *GitHubSource) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultGitHubSource
	type plain GitHubSource
	return unmarshal((*plain)(s))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *JiraSource) UnmarshalYAML(unmarshal func(any) error) error {
	*s = DefaultJiraSource
	type plain JiraSource
	return unmarshal((*plain)(s))
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *Calendar) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultCalendar
	c.WorkingDays = append([]string(nil), DefaultCalendar.WorkingDays...)
	type plain Calendar
	return unmarshal((*plain)(c))
}

// MaxFileSize bounds a configuration file: a real one is a few hundred
// kB even for thousands of teams; a larger file is a mistake (or an
// attack on the parser) and is refused before it is parsed.
const MaxFileSize = 4 << 20

// Load reads, decodes and validates the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("config %s: the file is larger than %d MiB; is it the right file?", path, MaxFileSize>>20)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a configuration document.
func Parse(b []byte) (*Config, error) {
	// Start from the defaults: a document that is only "---" (null) is
	// decoded without calling Config.UnmarshalYAML.
	c := &Config{}
	*c = defaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty configuration: at least one team is required")
		}
		return nil, allDecodeErrors(b, err)
	}
	// A second document in the same file is almost certainly a mistake.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("line %d: only one YAML document is allowed", extra.Line)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// parserProblems are the syntax errors yaml.v3's parser (not its scanner)
// reports; for them it prints the 0-based line where the enclosing block
// or flow collection starts.
var parserProblems = []string{
	"did not find expected key",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected <document start>",
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// syntaxError corrects yaml.v3's line for parser errors (one less than the
// 1-based line of the block the problem is in) and says that the line is
// where that block starts; scanner errors already name their own line.
func syntaxError(msg string) error {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return errors.New(msg)
	}
	for _, p := range parserProblems {
		if m[2] == p {
			n, _ := strconv.Atoi(m[1])
			return fmt.Errorf("line %d: %s (in the block that starts on that line)", n+1, p)
		}
	}
	return errors.New(msg)
}

// allDecodeErrors reports every decoding problem of doc at once. yaml.v3
// stops at the first value whose own UnmarshalYAML fails (a malformed
// duration) and so hides the unknown keys and other bad values after it:
// the bad durations are found by walking the document, blanked to 0 in
// place (lines and columns unchanged) and the document decoded again for
// the rest.
func allDecodeErrors(doc []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return cleanYAMLError(doc, err)
	}
	bad := badDurations(doc)
	if len(bad) == 0 {
		return cleanYAMLError(doc, err)
	}
	errs := make([]error, 0, len(bad)+1)
	for _, b := range bad {
		errs = append(errs, b.err)
	}
	if patched, ok := withDurationsBlanked(doc, bad); ok {
		c := defaultConfig()
		dec := yaml.NewDecoder(bytes.NewReader(patched))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			errs = append(errs, cleanYAMLError(patched, err))
		}
	}
	return errors.Join(errs...)
}

// cleanYAMLError turns yaml.v3's "yaml: unmarshal errors:\n  line 3: field x
// not found in type config.plain" into "line 3: unknown key \"x\"", which
// names the line and the key without Go type names. Errors returned by a
// value's own UnmarshalYAML (a malformed duration) carry no position, so the
// offending value is looked up in the document to name its line and path.
func cleanYAMLError(doc []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if located := locateValueError(doc); located != nil {
			return located
		}
		return syntaxError(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		if i := strings.Index(m, ": field "); i >= 0 && strings.Contains(m, " not found in type ") {
			key := m[i+len(": field "):]
			key = key[:strings.Index(key, " not found in type ")]
			var line int
			fmt.Sscanf(m[:i], "line %d", &line)
			path, suggestion := unknownKeyContext(doc, line, key)
			if path != "" {
				path += ": "
			}
			m = fmt.Sprintf("%s: %sunknown key %q", m[:i], path, key)
			if suggestion != "" {
				m += fmt.Sprintf(" (did you mean %q?)", suggestion)
			}
		} else if i := strings.LastIndex(m, " into "); i >= 0 && strings.Contains(m, "cannot unmarshal ") {
			m = m[:i+len(" into ")] + yamlKind(m[i+len(" into "):])
		}
		msgs = append(msgs, m)
	}
	return errors.New(strings.Join(msgs, "; "))
}

// yamlKind names what a Go type expects in YAML terms; the decoder's type
// errors name Go types, e.g. "config.plain" for every struct decoded here.
func yamlKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "*config."),
		strings.HasPrefix(goType, "config.") && goType != "config.Secret":
		return "a mapping"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "string", goType == "config.Secret":
		return "a string"
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	case goType == "bool":
		return "a boolean (true or false)"
	}
	return goType
}

var durationType = reflect.TypeOf(model.Duration(0))

// locateValueError finds the first duration in doc that does not parse and
// returns "line N: path: reason", or nil.
func locateValueError(doc []byte) error {
	bad := badDurations(doc)
	if len(bad) == 0 {
		return nil
	}
	return bad[0].err
}

// badValue is a duration that does not parse, with its node.
type badValue struct {
	err  error
	node *yaml.Node
}

// badDurations finds every duration in doc that does not parse, in
// document order.
func badDurations(doc []byte) []badValue {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil || len(root.Content) == 0 {
		return nil
	}
	var out []badValue
	findBadDurations(root.Content[0], reflect.TypeOf(Config{}), "", &out)
	return out
}

func findBadDurations(n *yaml.Node, t reflect.Type, path string, out *[]badValue) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	join := func(key string) string {
		if path == "" {
			return key
		}
		return path + "." + key
	}
	switch {
	case t == durationType:
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
			if _, err := model.ParseDuration(n.Value); err != nil {
				*out = append(*out, badValue{fmt.Errorf("line %d: %s: %w", n.Line, path, err), n})
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			for j := 0; j < t.NumField(); j++ {
				f := t.Field(j)
				if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && f.IsExported() {
					findBadDurations(n.Content[i+1], f.Type, join(key), out)
				}
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			findBadDurations(n.Content[i+1], t.Elem(), fmt.Sprintf("%s[%q]", path, n.Content[i].Value), out)
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			findBadDurations(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

// withDurationsBlanked returns doc with each bad duration's text replaced
// by 0, padded to its length so every line and column stays where it was;
// false when a value's text is not where its node says (then the caller
// reports what it has).
func withDurationsBlanked(doc []byte, bad []badValue) ([]byte, bool) {
	lines := strings.SplitAfter(string(doc), "\n")
	for _, b := range bad {
		n := b.node
		if n.Line < 1 || n.Line > len(lines) || n.Column < 1 {
			return nil, false
		}
		l := lines[n.Line-1]
		at := n.Column - 1
		raw := n.Value
		if n.Style == yaml.DoubleQuotedStyle {
			raw = `"` + n.Value + `"`
		} else if n.Style == yaml.SingleQuotedStyle {
			raw = "'" + n.Value + "'"
		}
		if raw == "" || at+len(raw) > len(l) || l[at:at+len(raw)] != raw {
			return nil, false
		}
		// "0" is a duration (model.ParseDuration accepts it) and fits any
		// value's place.
		lines[n.Line-1] = l[:at] + "0" + strings.Repeat(" ", len(raw)-1) + l[at+len(raw):]
	}
	return []byte(strings.Join(lines, "")), true
}
