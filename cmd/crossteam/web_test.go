package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/exposition"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "crossteam test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLSAndBasicAuth runs serve with --web.config.file (TLS and basic
// auth, exporter-toolkit) and checks it with a real TLS client: the right
// password is let in, a wrong or missing one refused, plain HTTP refused,
// and /-/reload sits behind the same auth and takes POST only.
func TestServeTLSAndBasicAuth(t *testing.T) {
	api := fakeOrg(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, api.URL)
	certFile, keyFile, pool := selfSigned(t, dir)
	const password = "s3cret-scrape-password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(webCfg, []byte("tls_server_config:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+
		"\nbasic_auth_users:\n  prometheus: "+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &syncBuffer{}
	ctx, cancel := contextWithCancel()
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "--config.file=" + cfgPath, "--web.listen-address=" + addr,
			"--web.config.file=" + webCfg, "--log.level=debug", "--web.enable-lifecycle"}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
		if strings.Contains(logs.String(), password) || strings.Contains(logs.String(), serveToken) {
			t.Error("a password or token appears in the logs")
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	base := "https://" + addr
	do := func(method, path, user, pass string) (int, string) {
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, "a handoff in /metrics over TLS", func() bool {
		code, body := do("GET", "/metrics", "prometheus", password)
		return code == 200 && strings.Contains(body, `crossteam_handoffs_total{from_team="design",source="github",to_team="backend"} 1`)
	})
	cases := []struct {
		method, path, user, pass string
		want                     int
	}{
		{"GET", "/metrics", "", "", http.StatusUnauthorized},
		{"GET", "/metrics", "prometheus", "wrong", http.StatusUnauthorized},
		{"GET", "/metrics", "someone", password, http.StatusUnauthorized},
		{"GET", "/", "", "", http.StatusUnauthorized},
		{"POST", "/-/reload", "", "", http.StatusUnauthorized},
		{"POST", "/-/reload", "prometheus", "wrong", http.StatusUnauthorized},
		{"GET", "/-/reload", "prometheus", password, http.StatusMethodNotAllowed},
		{"POST", "/-/reload", "prometheus", password, http.StatusOK},
		{"GET", "/config", "", "", http.StatusUnauthorized},
		{"GET", "/review", "", "", http.StatusUnauthorized},
		{"GET", "/review/2026-W10", "prometheus", "wrong", http.StatusUnauthorized},
		{"GET", "/review/2026-W10", "prometheus", password, http.StatusOK},
	}
	for _, tc := range cases {
		if code, body := do(tc.method, tc.path, tc.user, tc.pass); code != tc.want {
			t.Errorf("%s %s as %q: %d %q, want %d", tc.method, tc.path, tc.user, code, body, tc.want)
		}
	}
	// Plain HTTP to the TLS listener is refused by the TLS server.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http got %d, want 400", resp.StatusCode)
		}
	}
	// A client that does not trust the certificate cannot connect.
	if resp, err := http.Get(base + "/metrics"); err == nil {
		resp.Body.Close()
		t.Error("an untrusted certificate was accepted")
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// blockingCollector holds every Collect until release is closed, so a
// scrape stays in flight as long as the test wants.
type blockingCollector struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingCollector) Describe(chan<- *prometheus.Desc) {}
func (b *blockingCollector) Collect(chan<- prometheus.Metric) {
	b.entered <- struct{}{}
	<-b.release
}

// TestMaxRequestsLimitsScrapes: with --web.max-requests=2, a third scrape
// while two are in flight is refused with 503 at once; once they finish,
// scrapes succeed again.
func TestMaxRequestsLimitsScrapes(t *testing.T) {
	b := &blockingCollector{entered: make(chan struct{}, 10), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	reg.MustRegister(b)
	srv := httptest.NewServer(metricsHandler(exposition.NewSnapshotCollector(), reg, slog.New(slog.DiscardHandler), 2))
	defer srv.Close()
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() {
			resp, err := http.Get(srv.URL)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	<-b.entered
	<-b.entered
	if code, _ := get(t, srv.URL); code != http.StatusServiceUnavailable {
		t.Errorf("third concurrent scrape: %d, want 503", code)
	}
	close(b.release)
	for i := 0; i < 2; i++ {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("in-flight scrape %d: %d, want 200", i, c)
		}
	}
	go func() { <-b.entered }()
	if code, _ := get(t, srv.URL); code != http.StatusOK {
		t.Errorf("scrape after the others finished: %d, want 200", code)
	}
}
