package jira

import (
	"context"
	"encoding/base64"
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

// TestEchoedSecretsAreScrubbed: Jira 400/404/422/500 answers whose body
// echoes the request headers (a proxy or WAF in front of the site) never
// put the token, nor the base64 email:token of Basic auth, in the error.
func TestEchoedSecretsAreScrubbed(t *testing.T) {
	const email, token = "bot@example.com", "ATATT3xFfGF0T4k3nValue0123456789abcdef"
	basic := base64.StdEncoding.EncodeToString([]byte(email + ":" + token))
	for _, code := range []int{400, 404, 422, 500} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b strings.Builder
				for k, vs := range r.Header {
					fmt.Fprintf(&b, "%s: %s; ", k, strings.Join(vs, ","))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"errorMessages":["request refused: %s"],"errors":{}}`, b.String())
			}))
			defer srv.Close()
			st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			c, err := New(Options{Store: st, Target: &config.JiraSource{Name: "acme", URL: srv.URL, Deployment: config.JiraCloud,
				Email: email, Token: token, Projects: []string{"OPS"}}})
			if err != nil {
				t.Fatal(err)
			}
			c.rt.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
			err = c.Sync(context.Background())
			if err == nil {
				t.Fatal("sync succeeded against a failing server")
			}
			msg := err.Error()
			for _, s := range []string{token, basic, basic[:16]} {
				if strings.Contains(msg, s) {
					t.Errorf("secret %q in the error: %s", s, msg)
				}
			}
			if code != 404 && !strings.Contains(msg, "Basic <secret>") {
				t.Errorf("error %q should show the echoed header masked", msg)
			}
		})
	}
}
