package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/ready" {
			http.Error(w, "Not ready: first sync running", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Healthy\n"))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		url         string
		code        int
		out, errOut string
	}{
		{srv.URL + "/-/healthy", exitOK, "Healthy", ""},
		{srv.URL + "/-/ready", exitError, "", "503 Service Unavailable: Not ready: first sync running"},
		{"http://127.0.0.1:1/-/ready", exitError, "", "connect"},
		{"::bad", exitUsage, "", "--url"},
	} {
		var stdout, stderr syncBuffer
		if code := runContext(context.Background(), []string{"healthcheck", "--url=" + tc.url, "--timeout=2s"}, &stdout, &stderr); code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.url, code, tc.code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.errOut) {
			t.Errorf("%s: stdout %q stderr %q; want %q and %q", tc.url, stdout.String(), stderr.String(), tc.out, tc.errOut)
		}
	}
}
