package resilience

import (
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// Mask replaces every secret the scrubber finds.
const Mask = "<secret>"

// MaxUpstreamText caps how much of an upstream error body reaches the
// client library (and so any error message built from it).
const MaxUpstreamText = 2048

// tokenShaped matches what looks like a credential whatever its value:
// GitHub tokens (classic, fine-grained, OAuth, App installation, refresh),
// Atlassian API tokens, JWTs (GitHub App assertions) and the value of a
// Bearer, Basic or token Authorization scheme.
var tokenShaped = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,}|ATATT[A-Za-z0-9_=+/-]{16,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})|(?i:\b(?:bearer|basic|token)\s+)[A-Za-z0-9._~+/\\=-]{8,}`)

// Scrubber removes secrets from upstream text and errors. Secrets is
// called at every use, so a rotated token file is scrubbed by its current
// value; it returns the raw secret values, and Scrubber adds their base64
// forms. Basic credentials ("email:token") are passed whole too.
type Scrubber struct {
	Secrets func() []string
}

// String returns s with every current secret, its base64 forms and
// anything shaped like a token replaced by Mask.
func (sc *Scrubber) String(s string) string {
	if sc != nil && sc.Secrets != nil {
		for _, v := range sc.Secrets() {
			if len(v) < 4 {
				continue // too short to be a secret; replacing would garble text
			}
			for _, f := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
				base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))} {
				s = strings.ReplaceAll(s, f, Mask)
			}
		}
	}
	return tokenShaped.ReplaceAllStringFunc(s, func(m string) string {
		if i := strings.IndexAny(m, " \t"); i > 0 && !strings.HasPrefix(m, "gh") {
			return m[:i+1] + Mask // keep the scheme name: "Bearer <secret>"
		}
		return Mask
	})
}

// Error returns err with its text scrubbed, keeping errors.Is and
// errors.As working through Unwrap. Nil stays nil.
func (sc *Scrubber) Error(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbed{err: err, msg: sc.String(err.Error())}
}

type scrubbed struct {
	err error
	msg string
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Transport returns next with the body of every error answer (status 400
// and above) read, scrubbed and cut to MaxUpstreamText bytes before anyone
// above sees it. Bodies of successful answers are untouched.
func (sc *Scrubber) Transport(next http.RoundTripper) http.RoundTripper {
	return &scrubTransport{sc: sc, next: next}
}

type scrubTransport struct {
	sc   *Scrubber
	next http.RoundTripper
}

func (t *scrubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, t.sc.Error(err)
	}
	if resp.StatusCode < 400 || resp.Body == nil {
		return resp, nil
	}
	b, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	text := t.sc.String(string(b))
	if len(text) > MaxUpstreamText {
		text = cut(text, MaxUpstreamText) + " [cut]"
	}
	var body io.Reader = strings.NewReader(text)
	if rerr != nil {
		body = io.MultiReader(body, errReader{t.sc.Error(rerr)})
	}
	resp.Body = io.NopCloser(body)
	resp.ContentLength = int64(len(text))
	resp.Header.Del("Content-Length")
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// cut returns at most n bytes of s, not splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
