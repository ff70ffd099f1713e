package fakeapi

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeLoopback serves h (a fake API) over real HTTP on an ephemeral
// loopback port, as the demo and the benchmark harness do, and returns its
// base URL ("http://127.0.0.1:PORT/") and a function that stops it.
func ServeLoopback(h http.Handler, logger *slog.Logger) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("fake API server stopped", "err", err)
		}
	}()
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}
