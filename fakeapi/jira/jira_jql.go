package jira

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The JQL subset the fake understands:
//
//	clause   := field op value | field [NOT] IN (value, ...)
//	field    := project | key | issue | id | updated | created | labels |
//	            status | issuetype | type | assignee | resolution
//	op       := = | != | >= | > | <= | <
//	value    := word | "quoted" | 'quoted' | relative date (-15m, -2h, -1d, -1w)
//	query    := [expr] [ORDER BY field [ASC|DESC] {, field [ASC|DESC]}]
//	expr     := NOT expr | ( expr ) | clause | expr AND expr | expr OR expr
//
// Dates are "yyyy-MM-dd HH:mm", "yyyy/MM/dd HH:mm", "yyyy-MM-dd" or
// "yyyy/MM/dd" in the site's time zone (minute resolution, as Jira), or
// relative to now. Keywords are case-insensitive. Anything else is a 400
// "Error in the JQL Query" like Jira's.

// jqlError is a JQL the fake rejects, with Jira's wording.
type jqlError struct{ msg string }

func (e *jqlError) Error() string { return e.msg }

func jqlErrf(format string, a ...any) error {
	return &jqlError{msg: "Error in the JQL Query: " + fmt.Sprintf(format, a...)}
}

type jqlTok struct {
	kind string // "word", "str", "op", "(", ")", ","
	val  string
	pos  int
}

func jqlLex(q string) ([]jqlTok, error) {
	var out []jqlTok
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, jqlTok{kind: string(c), val: string(c), pos: i})
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var sb strings.Builder
			for j < len(q) && q[j] != c {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				sb.WriteByte(q[j])
				j++
			}
			if j >= len(q) {
				return nil, jqlErrf("The quoted string starting at character %d is not terminated.", i+1)
			}
			out = append(out, jqlTok{kind: "str", val: sb.String(), pos: i})
			i = j + 1
		case c == '=' || c == '!' || c == '<' || c == '>' || c == '~':
			j := i + 1
			if j < len(q) && q[j] == '=' {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, jqlErrf("Expecting operator but got '!' at character %d.", i+1)
			}
			out = append(out, jqlTok{kind: "op", val: op, pos: i})
			i = j
		default:
			j := i
			for j < len(q) {
				r := rune(q[j])
				if unicode.IsSpace(r) || strings.ContainsRune("(),=!<>~\"'", r) {
					break
				}
				j++
			}
			out = append(out, jqlTok{kind: "word", val: q[i:j], pos: i})
			i = j
		}
	}
	return out, nil
}

// jqlQuery is a parsed query: a predicate (nil = unbounded) and an order.
type jqlQuery struct {
	where jqlNode
	order []jqlOrder
}

type jqlOrder struct {
	field string // "updated", "created", "id", "key"
	desc  bool
}

type jqlNode interface {
	eval(env *jqlEnv, is *Issue) bool
}

type jqlEnv struct {
	now time.Time
	tz  *time.Location
}

type jqlAnd struct{ a, b jqlNode }
type jqlOr struct{ a, b jqlNode }
type jqlNot struct{ a jqlNode }

func (n jqlAnd) eval(e *jqlEnv, is *Issue) bool { return n.a.eval(e, is) && n.b.eval(e, is) }
func (n jqlOr) eval(e *jqlEnv, is *Issue) bool  { return n.a.eval(e, is) || n.b.eval(e, is) }
func (n jqlNot) eval(e *jqlEnv, is *Issue) bool { return !n.a.eval(e, is) }

// jqlSet is field (=|!=|in|not in) values.
type jqlSet struct {
	field  string
	values []string
	negate bool
}

func (n jqlSet) eval(_ *jqlEnv, is *Issue) bool {
	var have []string
	switch n.field {
	case "project":
		have = []string{is.Project}
	case "key":
		have = []string{is.Key}
	case "id":
		have = []string{is.ID}
	case "labels":
		have = is.Labels
	case "status":
		have = []string{is.Status}
	case "issuetype":
		have = []string{is.Type}
	case "assignee":
		have = []string{is.Assignee}
	case "resolution":
		have = []string{is.Resolution}
	}
	match := false
	for _, v := range n.values {
		for _, h := range have {
			if strings.EqualFold(h, v) {
				match = true
			}
		}
	}
	return match != n.negate
}

// jqlDate is updated/created compared with an instant.
type jqlDate struct {
	field string
	op    string
	abs   time.Time     // when !rel
	rel   time.Duration // negative offset from now when isRel
	isRel bool
}

func (n jqlDate) eval(e *jqlEnv, is *Issue) bool {
	t := n.abs
	if n.isRel {
		t = e.now.Add(n.rel)
	}
	v := is.Updated
	if n.field == "created" {
		v = is.Created
	}
	switch n.op {
	case ">=":
		return !v.Before(t)
	case ">":
		return v.After(t)
	case "<=":
		return !v.After(t)
	case "<":
		return v.Before(t)
	case "=":
		return v.Equal(t)
	case "!=":
		return !v.Equal(t)
	}
	return false
}

type jqlParser struct {
	toks []jqlTok
	i    int
	tz   *time.Location
}

// parseJQL parses q in the time zone used for date literals.
func parseJQL(q string, tz *time.Location) (*jqlQuery, error) {
	toks, err := jqlLex(q)
	if err != nil {
		return nil, err
	}
	p := &jqlParser{toks: toks, tz: tz}
	out := &jqlQuery{}
	if !p.atKeyword("order") && !p.end() {
		if out.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.atKeyword("order") {
		p.i++
		if !p.atKeyword("by") {
			return nil, p.unexpected("'by'")
		}
		p.i++
		for {
			t, ok := p.next()
			if !ok || t.kind != "word" {
				return nil, jqlErrf("Expecting a field name after 'order by'.")
			}
			f := strings.ToLower(t.val)
			switch f {
			case "updated", "created", "id", "key":
			case "issuekey":
				f = "key"
			default:
				return nil, jqlErrf("Field '%s' does not exist or you do not have permission to view it.", t.val)
			}
			o := jqlOrder{field: f}
			if p.atKeyword("asc") {
				p.i++
			} else if p.atKeyword("desc") {
				p.i++
				o.desc = true
			}
			out.order = append(out.order, o)
			if len(out.order) > 7 {
				return nil, jqlErrf("The ORDER BY clause may contain at most 7 fields.")
			}
			if !p.at(",") {
				break
			}
			p.i++
		}
	}
	if !p.end() {
		return nil, p.unexpected("end of query")
	}
	return out, nil
}

func (p *jqlParser) end() bool { return p.i >= len(p.toks) }

func (p *jqlParser) next() (jqlTok, bool) {
	if p.end() {
		return jqlTok{}, false
	}
	t := p.toks[p.i]
	p.i++
	return t, true
}

func (p *jqlParser) at(kind string) bool { return !p.end() && p.toks[p.i].kind == kind }

func (p *jqlParser) atKeyword(w string) bool {
	return !p.end() && p.toks[p.i].kind == "word" && strings.EqualFold(p.toks[p.i].val, w)
}

func (p *jqlParser) unexpected(want string) error {
	if p.end() {
		return jqlErrf("Expecting %s but reached the end of the query.", want)
	}
	t := p.toks[p.i]
	return jqlErrf("Expecting %s but got '%s' at character %d.", want, t.val, t.pos+1)
}

func (p *jqlParser) expr() (jqlNode, error) {
	a, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.atKeyword("or") {
		p.i++
		b, err := p.term()
		if err != nil {
			return nil, err
		}
		a = jqlOr{a, b}
	}
	return a, nil
}

func (p *jqlParser) term() (jqlNode, error) {
	a, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.atKeyword("and") {
		p.i++
		b, err := p.factor()
		if err != nil {
			return nil, err
		}
		a = jqlAnd{a, b}
	}
	return a, nil
}

func (p *jqlParser) factor() (jqlNode, error) {
	switch {
	case p.atKeyword("not"):
		p.i++
		a, err := p.factor()
		if err != nil {
			return nil, err
		}
		return jqlNot{a}, nil
	case p.at("("):
		p.i++
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.at(")") {
			return nil, p.unexpected("')'")
		}
		p.i++
		return a, nil
	}
	return p.clause()
}

func (p *jqlParser) clause() (jqlNode, error) {
	ft, ok := p.next()
	if !ok || (ft.kind != "word" && ft.kind != "str") {
		p.i--
		return nil, p.unexpected("a field name")
	}
	field := strings.ToLower(ft.val)
	switch field {
	case "issue", "issuekey":
		field = "key"
	case "type":
		field = "issuetype"
	case "project", "key", "id", "updated", "created", "labels", "status", "issuetype", "assignee", "resolution":
	default:
		return nil, jqlErrf("Field '%s' does not exist or you do not have permission to view it.", ft.val)
	}
	// Operator.
	var op string
	switch {
	case p.at("op"):
		op = p.toks[p.i].val
		p.i++
	case p.atKeyword("in"):
		op = "in"
		p.i++
	case p.atKeyword("not"):
		p.i++
		if !p.atKeyword("in") {
			return nil, p.unexpected("'in'")
		}
		p.i++
		op = "not in"
	default:
		return nil, p.unexpected("an operator")
	}
	if op == "~" || op == "!~" {
		return nil, jqlErrf("The operator '%s' is not supported by the '%s' field.", op, ft.val)
	}
	var values []string
	if op == "in" || op == "not in" {
		if !p.at("(") {
			return nil, p.unexpected("'('")
		}
		p.i++
		for {
			t, ok := p.next()
			if !ok || (t.kind != "word" && t.kind != "str") {
				return nil, jqlErrf("Expecting a value in the list for field '%s'.", ft.val)
			}
			values = append(values, t.val)
			if p.at(",") {
				p.i++
				continue
			}
			if p.at(")") {
				p.i++
				break
			}
			return nil, p.unexpected("',' or ')'")
		}
	} else {
		t, ok := p.next()
		if !ok || (t.kind != "word" && t.kind != "str") {
			return nil, jqlErrf("Expecting either a value, list or function but got '%s'.", t.val)
		}
		values = []string{t.val}
	}
	if field == "updated" || field == "created" {
		if op == "in" || op == "not in" {
			return nil, jqlErrf("The operator '%s' is not supported by the '%s' field.", op, ft.val)
		}
		d := jqlDate{field: field, op: op}
		if rel, ok := parseRelative(values[0]); ok {
			d.rel, d.isRel = rel, true
		} else {
			t, err := parseJQLDate(values[0], p.tz)
			if err != nil {
				return nil, jqlErrf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", values[0], ft.val)
			}
			d.abs = t
		}
		return d, nil
	}
	switch op {
	case "=", "in":
		return jqlSet{field: field, values: values}, nil
	case "!=", "not in":
		return jqlSet{field: field, values: values, negate: true}, nil
	}
	return nil, jqlErrf("The operator '%s' is not supported by the '%s' field.", op, ft.val)
}

// parseRelative parses "-15m", "-2h", "-1d", "-1w" (also without sign as a
// positive offset).
func parseRelative(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	unit := s[len(s)-1]
	num := s[:len(s)-1]
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(strings.TrimPrefix(num, "-"), "+")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var d time.Duration
	switch unit {
	case 'm':
		d = time.Minute
	case 'h':
		d = time.Hour
	case 'd':
		d = 24 * time.Hour
	case 'w':
		d = 7 * 24 * time.Hour
	default:
		return 0, false
	}
	d *= time.Duration(n)
	if neg {
		d = -d
	}
	return d, true
}

func parseJQLDate(s string, tz *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006/01/02 15:04", "2006-01-02", "2006/01/02"} {
		if t, err := time.ParseInLocation(layout, s, tz); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}
