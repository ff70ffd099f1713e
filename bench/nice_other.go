//go:build !linux

package bench

import (
	"context"
	"errors"
)

// niceHarness: thread priorities are Linux's here (see nice_linux.go).
func niceHarness(_ context.Context, nice int) (spawn func(f func()), stop func(), err error) {
	if nice != 0 {
		return nil, nil, errors.New("bench: an upstream nice needs Linux")
	}
	return func(f func()) { f() }, func() {}, nil
}
