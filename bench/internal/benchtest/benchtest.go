// Package benchtest helps the bench packages' tests run scenarios against
// our nsqd in-process.
package benchtest

import (
	"context"
	"testing"

	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
)

// OurNSQD returns a suite.Broker Start function: each call starts a fresh
// in-process nsqd (its own data path, ports from :0); the stop function
// it returns stops it.
func OurNSQD(t testing.TB) func(ctx context.Context) (broker.Target, func() error, error) {
	return func(ctx context.Context) (broker.Target, func() error, error) {
		n, err := nsqdtest.Run(nsqdtest.Options(t))
		if err != nil {
			return nil, nil, err
		}
		return broker.Remote{TCP: n.TCPAddr().String(), HTTP: n.HTTPAddr().String()}, func() error { n.Exit(); return nil }, nil
	}
}
