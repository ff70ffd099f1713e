package github

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crossteam/crossteam/internal/cpulane"
	"github.com/crossteam/crossteam/resilience"
)

// gqlInfo is what gqlTransport learned about one query's answer (the
// GraphQL client keeps only the first error message).
type gqlInfo struct {
	status      int
	timeout     bool
	rateLimited bool
	dataPresent bool
	errors      []string // "TYPE: message"
	types       []string
	// fast, when set, receives the answer decoded into the collector's
	// wire types, and the GraphQL client is then handed no data to decode;
	// fastErr is why it did not decode.
	fast    *gqlFastAnswer
	fastErr error
}

func (i *gqlInfo) onlyNotFound() bool {
	if len(i.types) == 0 {
		return false
	}
	for _, t := range i.types {
		if t != "NOT_FOUND" {
			return false
		}
	}
	return true
}

type gqlInfoKey struct{}

func withGQLInfo(ctx context.Context, i *gqlInfo) context.Context {
	return context.WithValue(ctx, gqlInfoKey{}, i)
}

// gqlTransport sits between the auth transport and rateTransport on the
// GraphQL client. It reads every answer's errors (types and messages,
// into the request's gqlInfo), waits out a RATE_LIMITED answer (GitHub
// sends it as a 200) until X-RateLimit-Reset and retries, and notes
// timeouts (GitHub's "may be the result of a timeout" 200, or a 502/504
// that persisted through rateTransport's retries) for the caller to
// shrink the query.
type gqlTransport struct {
	next  http.RoundTripper
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// spent marks the GraphQL budget spent until a reset, so the other
	// repositories' queries wait for it too (nil: nothing to tell).
	spent func(reset time.Time)
}

// gqlAnswer is an answer's two members, raw: one scan of the body.
type gqlAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors json.RawMessage `json:"errors"`
}

type gqlErr struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (t *gqlTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	info, _ := ctx.Value(gqlInfoKey{}).(*gqlInfo)
	if info == nil {
		info = &gqlInfo{}
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	// The "next" global ids carry the database id too (nodeDatabaseID).
	for waits := 0; ; waits++ {
		r2 := r.Clone(ctx)
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r2.ContentLength = int64(len(body))
		r2.Header.Set("X-Github-Next-Global-ID", "1")
		resp, err := t.next.RoundTrip(r2)
		if err != nil {
			return nil, err
		}
		fast := info.fast
		*info = gqlInfo{status: resp.StatusCode, fast: fast}
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusGatewayTimeout:
			info.timeout = true
			return resp, nil
		case http.StatusOK:
		default:
			return resp, nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		var ans gqlAnswer
		var errs []gqlErr
		// The decode is CPU alone (the body is read): it runs in a lane.
		bad := false
		if err := cpulane.Do(ctx, func() error {
			if json.Unmarshal(b, &ans) != nil {
				bad = true
				return nil
			}
			if len(ans.Errors) > 0 && string(ans.Errors) != "null" {
				_ = json.Unmarshal(ans.Errors, &errs)
			}
			info.dataPresent = len(ans.Data) > 0 && string(ans.Data) != "null"
			if info.fast != nil && info.dataPresent {
				if err := json.Unmarshal(ans.Data, &info.fast.Data); err != nil {
					info.fastErr = fmt.Errorf("decode the answer: %w", err)
				} else {
					// The client gets the errors alone: nothing to decode twice.
					stripped := []byte("{}")
					if len(errs) > 0 {
						stripped = append(append([]byte(`{"errors":`), ans.Errors...), '}')
					}
					resp.Body = io.NopCloser(bytes.NewReader(stripped))
					resp.ContentLength = int64(len(stripped))
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		if bad {
			return resp, nil // the client reports the decode error
		}
		limited := false
		for _, e := range errs {
			info.types = append(info.types, e.Type)
			info.errors = append(info.errors, strings.TrimPrefix(e.Type+": ", ": ")+e.Message)
			switch {
			case e.Type == "RATE_LIMITED" || e.Type == "RATE_LIMIT":
				limited = true
			case strings.Contains(e.Message, "may be the result of a timeout"):
				info.timeout = true
			}
		}
		if !limited {
			return resp, nil
		}
		if waits >= maxRateRetries {
			info.rateLimited = true
			return resp, nil
		}
		// Wait until the graphql window resets; rateTransport holds back
		// the other graphql requests until then (told here, as the
		// headers of a RATE_LIMITED answer need not say Remaining 0).
		d := defaultSecondary
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			d = max(time.Unix(reset, 0).Add(resetMargin).Sub(t.now()), time.Second)
		}
		if t.spent != nil {
			t.spent(t.now().Add(d - resetMargin))
		}
		resilience.Drain(resp)
		if err := t.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// graphqlURL is the GraphQL endpoint of a REST base URL: api.github.com
// -> https://api.github.com/graphql; GitHub Enterprise Server
// https://HOST/api/v3/ -> https://HOST/api/graphql; anything else (a
// proxy, the fake) -> <base>graphql.
func graphqlURL(base *url.URL) string {
	u := *base
	p := strings.TrimSuffix(u.Path, "/")
	if strings.HasSuffix(p, "/api/v3") {
		u.Path = strings.TrimSuffix(p, "/v3") + "/graphql"
	} else {
		u.Path = p + "/graphql"
	}
	return u.String()
}

// isGraphQLRequest tells rateTransport which budget a request spends.
func isGraphQLRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql")
}
