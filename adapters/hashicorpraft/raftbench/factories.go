package main

import (
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/adapters/hashicorpraft"
	"github.com/tensorchain/transport/engine"
)

// factories are the two transports compared: the adapter over the
// engine, and raft's own NetworkTransport, both plaintext on loopback.
func factories() []transportFactory { return []transportFactory{adapterFactory(), networkFactory()} }

// adapterFactory is this repository's transport, Development mode (the
// NetworkTransport it is compared with has no TLS either), with the
// outbound rate limit off as a raft cluster needs.
func adapterFactory() transportFactory {
	return transportFactory{name: adapterName, make: func(id raft.ServerID) (raft.Transport, error) {
		cfg := engine.NewConfig(string(id), "127.0.0.1:0")
		cfg.SecurityMode = engine.Development
		cfg.RateLimit.Enabled = false
		cfg.Logger = slog.New(slog.DiscardHandler)
		return hashicorpraft.New(cfg, hashicorpraft.WithLogger(hclog.New(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard})))
	}}
}

// networkFactory is raft's own TCP transport: a pool of 3 connections per
// peer, 10 s I/O timeout, as its documentation suggests.
func networkFactory() transportFactory {
	return transportFactory{name: networkName, make: func(raft.ServerID) (raft.Transport, error) {
		return raft.NewTCPTransport("127.0.0.1:0", nil, 3, 10*time.Second, io.Discard)
	}}
}
