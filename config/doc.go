// Package config reads a node's configuration from a TOML file and from the
// command line, from one table of settings.
//
// Each setting is one entry of the table (Settings): its TOML key, its
// flag, what it takes, the range it accepts, what it does and where it goes
// in a Node (the engine.Config, the peers, and the options of the program
// running the node). The TOML loader, the flags, the checks of single
// values and the reference SETTINGS.md are derived from it, so a setting
// is added in one place.
//
// # Loading a file
//
//	cfg, peers, err := config.Load("node.toml")
//	...
//	t, err := engine.New(cfg)
//	...
//	for _, p := range peers {
//		err = t.Connect(ctx, p)
//	}
//
// Every key is optional but node_id; the defaults are engine.NewConfig's
// (listening on DefaultListen). docs/node.example.toml shows every key with
// its default. Durations are Go durations in strings ("5s", "250ms"), sizes
// are plain integers in bytes, peers are an array of "ID=HOST:PORT"
// strings. A [tls] section, even empty, turns TLS on with the Strict
// defaults; its relative paths are taken from the file's directory. A
// rate-limit preset replaces its section before the section's other keys
// apply.
//
// Unknown keys, values of the wrong type, values that do not parse and
// values out of range are all reported at once, each naming its key and
// line:
//
//	config node.toml: unknown key "tls.cert_pth" (line 7)
//	key pool_size: must be between 1 and 64 (line 3)
//
// Errors wrap ErrUnknownKey, ErrInvalidValue, ErrSyntax or ErrMissing, and
// through them engine.ErrInvalidConfig; errors.As gives the *KeyError with
// the key and the line.
//
// # Command line
//
// ParseArgs reads -config FILE and one flag per setting: the key in kebab
// case after its section ("reconnect.max_backoff" is
// -reconnect-max-backoff), or a shorter name for a few (-id, -peer,
// -tls-cert, -tls-key, -tls-ca, -rate-limit, -inbound-rate-limit). Flags
// given override the file. PrintDefaults writes their usage.
// RegisterFlags puts the same flags on a flag.FlagSet of one's own.
package config
