package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/adapters/hashicorpraft"
	"github.com/tensorchain/transport/engine"
)

// factories are the transports compared: the adapter over the engine,
// and raft's own NetworkTransport, both plaintext on loopback; and raft's
// InmemTransport, which hands RPCs over Go channels with no network at
// all: raft with free RPCs, the reference the targets are read against
// (not with -procs: it cannot cross processes).
// maxInFlight, when positive, is the adapter's WithMaxInFlight.
func factories(procs bool, maxInFlight int) []transportFactory {
	f := []transportFactory{adapterFactory(maxInFlight), networkFactory()}
	if !procs {
		f = append(f, inmemFactory())
	}
	return f
}

// adapterFactory is this repository's transport, Development mode (the
// NetworkTransport it is compared with has no TLS either), with the
// outbound rate limit off as a raft cluster needs.
func adapterFactory(maxInFlight int) transportFactory {
	return transportFactory{name: adapterName, make: func(id raft.ServerID) (raft.Transport, error) {
		cfg := engine.NewConfig(string(id), "127.0.0.1:0")
		cfg.SecurityMode = engine.Development
		cfg.RateLimit.Enabled = false
		cfg.Logger = slog.New(slog.DiscardHandler)
		opts := []hashicorpraft.Option{hashicorpraft.WithLogger(hclog.New(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard}))}
		if maxInFlight > 0 {
			opts = append(opts, hashicorpraft.WithMaxInFlight(maxInFlight))
		}
		return hashicorpraft.New(cfg, opts...)
	}}
}

// networkFactory is raft's own TCP transport: a pool of 3 connections per
// peer, 10 s I/O timeout, as its documentation suggests.
func networkFactory() transportFactory {
	return transportFactory{name: networkName, make: func(raft.ServerID) (raft.Transport, error) {
		return raft.NewTCPTransport("127.0.0.1:0", nil, 3, 10*time.Second, io.Discard)
	}}
}

// inmemFactory is raft's in-memory transport, each made with a unique
// address and connected to every other by startCluster.
func inmemFactory() transportFactory {
	var n atomic.Int64
	return transportFactory{
		name: inmemName,
		make: func(raft.ServerID) (raft.Transport, error) {
			_, t := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("inmem-%d", n.Add(1))))
			return t, nil
		},
		connect: func(all []raft.Transport) {
			for _, a := range all {
				for _, b := range all {
					if a != b {
						a.(*raft.InmemTransport).Connect(b.LocalAddr(), b)
					}
				}
			}
		},
	}
}
