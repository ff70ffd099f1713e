package github

import (
	"fmt"
	"math"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// GraphQL query limits, as GitHub documents them
// (docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api).
const (
	MaxGraphQLNodes    = 500_000 // nodes one query may request
	MaxConnectionFirst = 100     // first/last of one connection
)

// costSchema is the subset again, for gqlparser: it gives every field of a
// query its definition, so connections are known by type.
var costSchema = gqlparser.MustLoadSchema(&ast.Source{Name: "graphql-schema-subset.graphql", Input: schemaSubset})

// queryCost is a query's point cost and node count by GitHub's rules: every
// connection (a field whose type is a *Connection) needs first or last
// (1..100); it takes one request for each node of its parent connections,
// assuming each is full; the cost is the sum of those requests divided by
// 100, rounded, at least 1; the node count is the sum over connections of
// the product of first/last down the path. A limit error comes back as a
// *gqlError with GitHub's type and message; a query gqlparser cannot
// validate gets ok=false (graph-gophers then answers with its errors).
func queryCost(query, op string, vars map[string]any) (cost, nodes int, err *gqlError, ok bool) {
	doc, errs := gqlparser.LoadQuery(costSchema, query)
	if len(errs) > 0 {
		return 0, 0, nil, false
	}
	var oper *ast.OperationDefinition
	for _, o := range doc.Operations {
		if op == "" || o.Name == op {
			oper = o
			break
		}
	}
	if oper == nil {
		return 0, 0, nil, false
	}
	requests := 0
	var walk func(set ast.SelectionSet, mult int) *gqlError
	walk = func(set ast.SelectionSet, mult int) *gqlError {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if s.Definition == nil || s.Name == "rateLimit" {
					continue
				}
				child := mult
				if strings.HasSuffix(s.Definition.Type.Name(), "Connection") {
					n, e := pageSize(s, vars)
					if e != nil {
						return e
					}
					requests += mult
					child = mult * n
					nodes += child
				}
				if e := walk(s.SelectionSet, child); e != nil {
					return e
				}
			case *ast.InlineFragment:
				if e := walk(s.SelectionSet, mult); e != nil {
					return e
				}
			case *ast.FragmentSpread:
				if s.Definition != nil {
					if e := walk(s.Definition.SelectionSet, mult); e != nil {
						return e
					}
				}
			}
		}
		return nil
	}
	if e := walk(oper.SelectionSet, 1); e != nil {
		return 0, nodes, e, true
	}
	if nodes > MaxGraphQLNodes {
		return 0, nodes, &gqlError{"MAX_NODE_LIMIT_EXCEEDED", fmt.Sprintf(
			"This query requests up to %s possible nodes which exceeds the maximum limit of %s.", thousands(nodes), thousands(MaxGraphQLNodes))}, true
	}
	cost = max(1, int(math.Round(float64(requests)/100)))
	return cost, nodes, nil, true
}

// pageSize is a connection's first or last, checked like GitHub does.
func pageSize(f *ast.Field, vars map[string]any) (int, *gqlError) {
	n, set := 0, false
	for _, name := range []string{"first", "last"} {
		a := f.Arguments.ForName(name)
		if a == nil {
			continue
		}
		v, err := a.Value.Value(vars)
		if err != nil || v == nil {
			continue
		}
		var k int
		switch x := v.(type) {
		case int64:
			k = int(x)
		case int:
			k = x
		case float64:
			k = int(x)
		default:
			continue
		}
		if k < 0 || k > MaxConnectionFirst {
			return 0, &gqlError{"EXCESSIVE_PAGINATION", fmt.Sprintf(
				"Requesting %d records on the `%s` connection exceeds the `%s` limit of %d records.", k, f.Name, name, MaxConnectionFirst)}
		}
		n, set = max(n, k), true
	}
	if !set {
		return 0, &gqlError{"MISSING_PAGINATION_BOUNDARIES", fmt.Sprintf(
			"You must provide a `first` or `last` value to properly paginate the `%s` connection.", f.Name)}
	}
	return n, nil
}

// thousands formats n with comma separators, as GitHub's messages do.
func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
