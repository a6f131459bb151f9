package config_test

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/tensorchain/transport/config"
)

// Load reads a node's file into what engine.New and Transport.Connect
// take; the keys it does not hold keep engine.NewConfig's defaults.
func ExampleLoad() {
	cfg, peers, err := config.Load("testdata/n1.toml")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.NodeID, cfg.ListenAddr, cfg.SecurityMode, cfg.PoolSize, cfg.Reconnect.MaxBackoff)
	fmt.Println(cfg.TLS.CertPath)
	for _, p := range peers {
		fmt.Println(p.NodeID, p.Address)
	}
	// Then: t, err := engine.New(cfg); t.Start(ctx); t.Connect(ctx, p) for each peer.
	// Output:
	// n1 0.0.0.0:9101 strict 4 5s
	// testdata/certs/n1.pem
	// n2 10.0.1.2:9102
	// n3 10.0.1.3:9103
}

// Every refused key is reported, with its line; errors.As gives each one's
// key and line.
func ExampleRead() {
	doc := `node_id = "n1"
pool_size = 0
[tls]
cert_pth = "n1.pem"
`
	_, _, err := config.Read(strings.NewReader(doc))
	fmt.Println(err)
	var ke *config.KeyError
	fmt.Println(errors.As(err, &ke), ke.Key, ke.Line, errors.Is(err, config.ErrInvalidValue))
	// Output:
	// config: key pool_size: must be between 1 and 64 (line 2)
	// unknown key "tls.cert_pth" (line 4)
	// true pool_size 2 true
}

// ParseArgs reads a command line: a -config file, then the flags over it.
func ExampleParseArgs() {
	n, err := config.ParseArgs([]string{"-config", "testdata/n1.toml", "-pool-size", "8", "-peer", "n4=10.0.1.4:9104"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n.Engine.NodeID, n.Engine.PoolSize, n.Peers)
	// Output: n1 8 [{n4 10.0.1.4:9104}]
}
