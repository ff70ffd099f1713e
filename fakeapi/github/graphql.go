package github

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/crossteam/crossteam/fakeapi"
)

// EndpointGraphQL is the request-log endpoint of POST /graphql (and
// /api/graphql, GitHub Enterprise Server's path).
const EndpointGraphQL = "graphql"

// GitHub's GraphQL messages, verbatim where known.
const (
	MsgGraphQLRateLimit = "API rate limit already exceeded for user ID %d."
	MsgGraphQLTimeout   = "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `%s` when reporting this issue."
	docGraphQL          = "https://docs.github.com/graphql"
)

// gqlQuota is a token's GraphQL point budget (GitHub keeps it apart from
// the REST "core" budget: 5,000 points per hour for a user token).
type gqlQuota struct {
	used  int
	reset time.Time
}

func (g *GitHub) gqlQuota(tok string, now time.Time) *gqlQuota {
	q := g.gqlQuotas[tok]
	if q == nil {
		q = &gqlQuota{}
		g.gqlQuotas[tok] = q
	}
	if q.reset.IsZero() || !now.Before(q.reset) {
		q.used = 0
		q.reset = now.Add(g.window)
	}
	return q
}

// GraphQLRateStatus reports a token's GraphQL point budget.
func (g *GitHub) GraphQLRateStatus(tok string) Rate {
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.gqlQuota(tok, g.org.now())
	return Rate{Limit: g.gqlLimit, Used: q.used, Remaining: max(0, g.gqlLimit-q.used), Reset: q.reset}
}

// SetGraphQLTimeoutNodes makes every GraphQL query requesting more than n
// nodes fail the way GitHub answers a query that ran out of time (200,
// data null, "Something went wrong while executing your query. This may be
// the result of a timeout..."); 0 turns it off.
func (g *GitHub) SetGraphQLTimeoutNodes(n int) {
	g.mu.Lock()
	g.gqlTimeoutNodes = n
	g.mu.Unlock()
}

// SetNoGraphQL makes /graphql answer 404, as a GitHub Enterprise Server
// without the GraphQL API (or a proxy that does not pass it) does.
func (g *GitHub) SetNoGraphQL(on bool) {
	g.mu.Lock()
	g.noGraphQL = on
	g.mu.Unlock()
}

// gqlError shapes, as GitHub writes them: type at the top level.
type wGQLError struct {
	Type      string            `json:"type,omitempty"`
	Code      string            `json:"code,omitempty"`
	Path      []any             `json:"path,omitempty"`
	Locations []wGQLErrLocation `json:"locations,omitempty"`
	Message   string            `json:"message"`
}

type wGQLErrLocation struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

type wGQLAnswer struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []wGQLError     `json:"errors,omitempty"`
}

// serveGraphQL answers POST /graphql: injected latency, authentication,
// secondary-limit episodes and 5xx (shared with REST), the GraphQL point
// budget (its own, X-RateLimit-Resource: graphql), the node limit and page
// bounds, the timeout knob, then the query executed over the Org. A
// refused or failed query costs no points; an executed one costs its
// computed cost (also when its answer carries errors with partial data).
func (g *GitHub) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	rec := fakeapi.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Endpoint: EndpointGraphQL}
	g.mu.Lock()
	f := g.faults
	spikeDraw, secDraw, errDraw, bodyDraw := g.rng.Float64(), g.rng.Float64(), g.rng.Float64(), g.rng.Float64()
	g.mu.Unlock()
	fault, ok := f.Delay(r.Context(), spikeDraw)
	rec.Fault = fault
	if !ok {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	status, out, h := g.decideGraphQL(r, &rec, body, secDraw, errDraw, bodyDraw)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (g *GitHub) decideGraphQL(r *http.Request, rec *fakeapi.Request, body []byte, secDraw, errDraw, bodyDraw float64) (status int, out []byte, h http.Header) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.org.now()
	g.seq++
	rec.ID, rec.Time = g.seq, now
	reqID := fmt.Sprintf("FA%02X:%04X:%06X:%06X:%08X", g.seq%251, g.seq%65521, g.seq*7%16777213, g.seq*13%16777213, g.seq)
	h = http.Header{}
	h.Set("X-GitHub-Request-Id", reqID)
	h.Set("X-GitHub-Media-Type", "github.v4; format=json")
	defer func() {
		rec.Status = status
		g.Record(*rec)
	}()
	if g.noGraphQL {
		return http.StatusNotFound, errorBody(http.StatusNotFound, "Not Found", docREST), h
	}
	tok, ok := g.authenticate(r)
	rec.Token = tok
	if !ok {
		msg := "Bad credentials"
		if r.Header.Get("Authorization") == "" {
			msg = "This endpoint requires you to be authenticated."
		}
		return http.StatusUnauthorized, errorBody(http.StatusUnauthorized, msg, docGraphQL), h
	}
	if r.Method != http.MethodPost {
		return http.StatusNotFound, errorBody(http.StatusNotFound, "Not Found", docREST), h
	}
	q := g.gqlQuota(tok, now)
	rateHeaders := func() {
		h.Set("X-RateLimit-Limit", strconv.Itoa(g.gqlLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, g.gqlLimit-q.used)))
		h.Set("X-RateLimit-Used", strconv.Itoa(q.used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(q.reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "graphql")
	}
	defer rateHeaders()

	// Secondary limit episodes are per token, shared with REST.
	rq := g.quota(tok, now)
	ff := g.faults
	episode, withHeader := ff.RetryAfterValue()
	if !now.Before(rq.episodeUntil) && secDraw < ff.SecondaryRate+ff.TooManyRate {
		rq.episodeStatus = http.StatusForbidden
		if secDraw >= ff.SecondaryRate {
			rq.episodeStatus = http.StatusTooManyRequests
		}
		rq.episodeUntil = now.Add(episode)
	}
	if now.Before(rq.episodeUntil) {
		rec.Fault = "secondary"
		if withHeader {
			secs := int64((rq.episodeUntil.Sub(now) + time.Second - 1) / time.Second)
			h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		}
		return rq.episodeStatus, errorBody(rq.episodeStatus, fmt.Sprintf(MsgSecondaryRateLimit, reqID), docSecondary), h
	}
	if errDraw < ff.ServerErrorRate {
		rec.Fault = "5xx"
		return http.StatusBadGateway, fakeapi.Marshal(map[string]string{"message": "Server Error"}), h
	}

	var in struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Query == "" {
		return http.StatusBadRequest, fakeapi.Marshal(map[string]string{"message": "Problems parsing JSON", "documentation_url": docGraphQL}), h
	}
	if o, _ := in.Variables["owner"].(string); o != "" {
		if n, _ := in.Variables["name"].(string); n != "" {
			rec.Repo = o + "/" + n
		}
	}
	if q.used >= g.gqlLimit {
		return http.StatusOK, fakeapi.Marshal(wGQLAnswer{Errors: []wGQLError{{
			Type: "RATE_LIMITED", Code: "graphql_rate_limit", Message: fmt.Sprintf(MsgGraphQLRateLimit, tokenUserID(tok))}}}), h
	}
	cost, nodes, limitErr, valid := queryCost(in.Query, in.OperationName, in.Variables)
	if limitErr != nil {
		return http.StatusOK, fakeapi.Marshal(wGQLAnswer{Errors: []wGQLError{{Type: limitErr.typ, Message: limitErr.msg}}}), h
	}
	if valid {
		q.used += cost
		rec.Cost, rec.Points = true, cost
	}
	if g.gqlTimeoutNodes > 0 && nodes > g.gqlTimeoutNodes {
		rec.Fault = "timeout"
		return http.StatusOK, []byte(`{"data":null,"errors":[{"message":` + strconv.Quote(fmt.Sprintf(MsgGraphQLTimeout, reqID)) + `}]}`), h
	}
	g.org.mu.RLock()
	ctx := context.WithValue(r.Context(), gqlCtxKey{}, &gqlReq{
		o: g.org, cost: cost, limit: g.gqlLimit, remaining: max(0, g.gqlLimit-q.used), used: q.used, nodes: nodes, resetAt: q.reset,
	})
	res := gqlSchema.Exec(ctx, in.Query, in.OperationName, in.Variables)
	g.org.mu.RUnlock()
	ans := wGQLAnswer{Data: res.Data}
	for _, e := range res.Errors {
		we := wGQLError{Path: e.Path, Message: e.Message}
		if t, ok := e.Extensions["type"].(string); ok {
			we.Type = t
		}
		for _, l := range e.Locations {
			we.Locations = append(we.Locations, wGQLErrLocation{Line: l.Line, Column: l.Column})
		}
		ans.Errors = append(ans.Errors, we)
	}
	out = fakeapi.Marshal(ans)
	switch {
	case bodyDraw < ff.TruncateRate:
		rec.Fault = "truncate"
		out = out[:len(out)/2]
	case bodyDraw < ff.TruncateRate+ff.MalformedRate:
		rec.Fault = "malformed"
		mid := len(out) / 2
		out = append(append(append([]byte(nil), out[:mid]...), "\"}{,"...), out[mid:]...)
	}
	return http.StatusOK, out, h
}
