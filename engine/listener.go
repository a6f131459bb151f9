package engine

import (
	"fmt"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// listenerDup is the transport's duplicate of gnet's listening socket,
// taken at OnBoot: it reads the bound address, and lets Close shut the
// listener down before the event loops stop (close.go, stopLoops). It is
// closed as soon as gnet.Run returns, so a socket gnet has let go of never
// stays open, or listening, through it.
type listenerDup struct {
	mu sync.Mutex // shutdown never meets a descriptor closed (and reused) under it
	fd int        // -1: none
}

func (d *listenerDup) set(fd int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fd = fd
}

// shutdown shuts the listening socket down for reading (accept fails from
// then on, and the kernel resets the connections in its backlog), and
// reports whether it could.
func (d *listenerDup) shutdown() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fd >= 0 && unix.Shutdown(d.fd, unix.SHUT_RD) == nil
}

func (d *listenerDup) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd >= 0 {
		_ = unix.Close(d.fd)
		d.fd = -1
	}
}

// listenAddr reads the bound address of the listening socket fd.
func listenAddr(fd int) (net.Addr, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}, nil
	}
	return nil, fmt.Errorf("unexpected listener address %T", sa)
}
