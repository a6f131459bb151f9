package bench

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
)

// rawPumpFrame is the payload size rawpump frames carry, the size the
// 64 KiB oneway target is compared at.
const rawPumpFrame = 64 << 10

// rawPair returns the two ends of a loopback TCP connection.
func rawPair() (client, server net.Conn, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		return nil, nil, err
	}
	if server = <-accepted; server == nil {
		client.Close()
		return nil, nil, errors.New("rawpump: accept failed")
	}
	return client, server, nil
}

// rawPump moves pre-framed 64 KiB frames through a plain socket as fast as
// write and read allow: no protocol, no copies beyond the kernel's. It is
// the ceiling for any transport on this machine.
func rawPump(o Options) (Result, error) {
	client, server, err := rawPair()
	if err != nil {
		return Result{}, err
	}
	defer client.Close()
	defer server.Close()
	var frames []byte
	for range 16 { // 1 MiB of frames per write
		frames = codec.AppendFrame(frames, 0, payloadFor(rawPumpFrame, false))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := client.Write(frames); err != nil {
				return
			}
		}
	}()
	var bytes atomic.Uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1<<20)
		for {
			n, err := server.Read(buf)
			bytes.Add(uint64(n))
			if err != nil {
				return
			}
		}
	}()
	w := measureWindow(&bytes, warmup(o.Duration), o.Duration)
	stop.Store(true)
	_ = client.SetWriteDeadline(time.Now())
	_ = server.SetReadDeadline(time.Now().Add(time.Second))
	wg.Wait()
	frameLen := float64(codec.FrameLen(rawPumpFrame))
	r := Result{Scenario: ScenarioRawpump, Case: sizeName(rawPumpFrame), Impl: "raw"}
	r.throughput(uint64(float64(w.msgs)/frameLen), rawPumpFrame, w.elapsed, 0)
	r.AllocsPerMsg = nil
	return r, nil
}

// rawRoundTrip measures the round-trip floor: PingSize bytes written to a
// plain socket and echoed back by a goroutine doing nothing else.
func rawRoundTrip(o Options) (Result, error) {
	client, server, err := rawPair()
	if err != nil {
		return Result{}, err
	}
	defer client.Close()
	defer server.Close()
	size := max(o.PingSize, 1)
	go func() {
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(server, buf); err != nil {
				return
			}
			if _, err := server.Write(buf); err != nil {
				return
			}
		}
	}()
	msg, reply := payloadFor(size, false), make([]byte, size)
	_ = client.SetDeadline(time.Now().Add(o.Duration + 30*time.Second))
	rt := func() (time.Duration, error) {
		t0 := time.Now()
		if _, err := client.Write(msg); err != nil {
			return 0, err
		}
		_, err := io.ReadFull(client, reply)
		return time.Since(t0), err
	}
	samples, d, err := sampleRoundTrips(rt, o.Duration)
	if err != nil {
		return Result{}, err
	}
	r := Result{Scenario: ScenarioPingpong, Case: sizeName(o.PingSize), Impl: "raw"}
	r.latency(samples, d)
	return r, nil
}
