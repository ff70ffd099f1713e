package github

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/store"
)

// echoHeaders answers every request with code and a body that repeats the
// request's headers, as a proxy, WAF or Enterprise front-end may do.
func echoHeaders(code int, asJSON bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for k, vs := range r.Header {
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s; ", k, v)
			}
		}
		w.WriteHeader(code)
		if asJSON {
			fmt.Fprintf(w, `{"message":"rejected request with headers %s","documentation_url":"https://docs.github.com"}`, strings.ReplaceAll(b.String(), `"`, `'`))
			return
		}
		fmt.Fprintf(w, "<html><body>Request blocked. %s</body></html>", b.String())
	})
}

// TestEchoedSecretsAreScrubbed: GitHub 400/403/422/500 answers whose body
// echoes the Authorization header never put the token in the sync error.
func TestEchoedSecretsAreScrubbed(t *testing.T) {
	const token = "ghp_0123456789abcdefABCDEF0123456789abcd"
	for _, code := range []int{400, 403, 422, 500} {
		for _, asJSON := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d json=%v", code, asJSON), func(t *testing.T) {
				srv := httptest.NewServer(echoHeaders(code, asJSON))
				defer srv.Close()
				st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				c, err := New(Options{Store: st, Target: &config.GitHubSource{Name: "acme", BaseURL: srv.URL + "/", Repos: []string{"acme/web"}, Token: token}})
				if err != nil {
					t.Fatal(err)
				}
				c.setSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
				err = c.Sync(context.Background())
				if err == nil {
					t.Fatal("sync succeeded against a failing server")
				}
				msg := err.Error()
				if strings.Contains(msg, token) || strings.Contains(msg, token[4:20]) {
					t.Errorf("token in the error: %s", msg)
				}
				if !strings.Contains(msg, "acme/web") {
					t.Errorf("error %q does not name the repo", msg)
				}
				if asJSON && !strings.Contains(msg, "Bearer <secret>") {
					t.Errorf("error %q should show the echoed header masked", msg)
				}
			})
		}
	}
}

// TestTransportErrorNamesURL: a transport error names the request's URL
// (without its query), so the log says which API could not be reached.
func TestTransportErrorNamesURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(Options{Store: st, Target: &config.GitHubSource{Name: "acme", BaseURL: srv.URL + "/", Repos: []string{"acme/web"}, Token: "ghp_0123456789abcdefABCDEF0123456789abcd"}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Sync(context.Background())
	want := "github/acme: repo acme/web: list issues: Get " + srv.URL + "/repos/acme/web/issues: dial tcp "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want it to start %q", err, want)
	}
}
