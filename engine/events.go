package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// eventHandler adapts gnet's callbacks to the transport. Every callback except
// OnTick runs on the event loop that owns the connection.
type eventHandler struct {
	gnet.BuiltinEventEngine
	t *Transport
}

func (h *eventHandler) OnBoot(eng gnet.Engine) gnet.Action {
	t := h.t
	t.eng = eng
	fd, err := eng.Dup()
	if err == nil {
		t.listener.set(fd)
		t.addr, err = listenAddr(fd)
	}
	if err != nil {
		t.log.Error("cannot read listen address", "err", err)
		return gnet.Shutdown
	}
	return gnet.None
}

func (h *eventHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	t := h.t
	if b, ok := gc.Context().(*doorbell); ok {
		if !t.adoptBell(gc, b) {
			return nil, gnet.Close // surplus: its loop has a bell
		}
		return nil, gnet.None
	}
	c, _ := gc.Context().(*conn)
	inbound := c == nil
	if inbound {
		c = t.newConn(false, nil, "", gc.RemoteAddr().String())
		gc.SetContext(c)
	}
	t.loads.opened(c, gc.EventLoop())
	failed := c.attach(gc, t.bellFor(gc))
	switch {
	case failed:
	case inbound:
		failed = !t.admitInbound(c)
	case !c.openAccount():
		c.fail(causeOverload, fmt.Errorf("connection to %s: %w: %s", c.remote, ErrOverloaded, t.noReserve(handshakeReserve)))
		failed = true
	}
	if inbound { // armed only now that gc and remote are set: the timer reads both
		c.hs.deadline = time.AfterFunc(t.cfg.ConnectTimeout, func() {
			c.fail(causeTimeout, fmt.Errorf("handshake from %s: %w after %v", c.remote, ErrTimeout, t.cfg.ConnectTimeout))
		})
	}
	t.register(c)
	if t.closing.Load() || failed {
		return nil, gnet.Close
	}
	if t.tlsEnabled() {
		t.startTLS(c)
	}
	if inbound {
		c.armIdleDeadline()
		return nil, gnet.None // the listener answers the dialer's hello
	}
	if t.tlsEnabled() {
		return nil, gnet.None // the hello goes once TLS is up
	}
	c.setPhase(phaseHelloSent)
	return c.dialerHello(), gnet.None
}

func (h *eventHandler) OnTraffic(gc gnet.Conn) gnet.Action {
	switch x := gc.Context().(type) {
	case *conn:
		return h.serve(x)
	case *doorbell:
		return h.onBellTraffic(gc, x)
	}
	return gnet.Close
}

// serve runs a connection's turn on its loop: after input, or when woken.
func (h *eventHandler) serve(c *conn) gnet.Action {
	if c.ioCheck.Swap(false) {
		if err := c.checkIO(time.Now()); err != nil {
			c.fail(causeTimeout, err)
			return gnet.Close
		}
	}
	a := c.onTraffic()
	c.yieldIfWoke()
	return a
}

func (h *eventHandler) OnClose(gc gnet.Conn, err error) gnet.Action {
	switch x := gc.Context().(type) {
	case *conn:
		x.onClose(err)
	case *doorbell:
		x.onBellClose()
	}
	return gnet.None
}

func (h *eventHandler) OnTick() (time.Duration, gnet.Action) {
	return h.t.tick(), gnet.None
}

// gnetLogger sends gnet's own log lines to slog. Once Close has begun,
// gnet's warnings and errors are those of the shutdown itself (its acceptor
// exits on the listener Close shut down: close.go) and go to Debug.
type gnetLogger struct {
	l       *slog.Logger
	closing *atomic.Bool // the transport's
}

func (g gnetLogger) Debugf(f string, a ...any) { g.log(slog.LevelDebug, f, a) }
func (g gnetLogger) Infof(f string, a ...any)  { g.log(slog.LevelDebug, f, a) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.log(slog.LevelWarn, f, a) }
func (g gnetLogger) Errorf(f string, a ...any) { g.log(slog.LevelError, f, a) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.log(slog.LevelError, f, a) }

func (g gnetLogger) log(level slog.Level, f string, a []any) {
	if g.closing.Load() {
		level = slog.LevelDebug
	}
	if ctx := context.Background(); g.l.Enabled(ctx, level) {
		g.l.Log(ctx, level, fmt.Sprintf(f, a...))
	}
}
