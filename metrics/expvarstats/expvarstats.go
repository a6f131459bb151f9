package expvarstats

import (
	"expvar"

	"github.com/tensorchain/transport/engine"
)

// Source is what this package reads statistics from. *engine.Transport is
// one; anything else that returns an engine.Stats snapshot (a wrapper, a
// fake in a test) will do.
type Source interface {
	Stats() engine.Stats
}

// Var returns an expvar.Var whose value is src's statistics at the time
// it is read: its String method takes one src.Stats() snapshot and returns
// it as JSON. Use it to publish under a name of your choosing, or inside an
// expvar.Map:
//
//	m := expvar.NewMap("cluster")
//	m.Set("transport", expvarstats.Var(t))
func Var(src Source) expvar.Var {
	return expvar.Func(func() any { return src.Stats() })
}

// Publish registers src's statistics as the expvar variable name (see
// Var). A name can be published once per process: like expvar.Publish,
// Publish panics when name is already registered, so call it once, at
// start-up, with a name no other package uses (tests that start many
// transports give each a name of its own). Variables cannot be
// unregistered: the variable keeps src reachable for the life of the
// process, and still reads after src's Close (its final counters).
func Publish(name string, src Source) {
	expvar.Publish(name, Var(src))
}
