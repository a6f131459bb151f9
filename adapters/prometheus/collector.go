package prometheus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tensorchain/transport/engine"
)

// Source is what a Collector reads statistics from. *engine.Transport is
// one; anything else that returns an engine.Stats snapshot (a wrapper, a
// fake in a test) will do.
type Source interface {
	Stats() engine.Stats
}

// Collector is a prometheus.Collector of a transport's statistics. It
// holds no state but its descriptors: each Collect takes one Stats
// snapshot and sends it as const metrics, so a scrape costs one
// Transport.Stats call, and two concurrent scrapes two.
type Collector struct {
	src Source
	err error // from the options: fails the registration

	transport          []*prometheus.Desc // transportMetrics' descriptors, in its order
	peer               []*prometheus.Desc // peerMetrics' descriptors, in its order
	handshakeFailures  *prometheus.Desc
	connectionsRefused *prometheus.Desc
	peerInfo           *prometheus.Desc
	peerState          *prometheus.Desc
	peerRTT            *prometheus.Desc
	peerRTTLast        *prometheus.Desc
}

// NewCollector returns a collector of src's statistics, to be registered
// in a prometheus.Registerer:
//
//	prometheus.MustRegister(tcprom.NewCollector(t, tcprom.WithConstLabels(prometheus.Labels{"node": "raft"})))
//
// Errors in the options (an invalid namespace or label name) surface
// when the collector is registered; an unregistered one with bad options
// collects nothing but the error, without calling Stats.
func NewCollector(src Source, opts ...Option) *Collector {
	o := options{namespace: DefaultNamespace}
	for _, opt := range opts {
		opt(&o)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "", name), help, labels, o.constLabels)
	}
	c := &Collector{
		src:                src,
		err:                o.validate(),
		handshakeFailures:  desc(handshakeFailuresName, handshakeFailuresHelp, labelCause),
		connectionsRefused: desc(connectionsRefusedName, connectionsRefusedHelp, labelLimit),
		peerInfo:           desc(peerInfoName, peerInfoHelp, labelPeer, labelAddress),
		peerState:          desc(peerStateName, peerStateHelp, labelPeer, labelState),
		peerRTT:            desc(peerRTTName, peerRTTHelp, labelPeer),
		peerRTTLast:        desc(peerRTTLastName, peerRTTLastHelp, labelPeer),
	}
	for _, m := range transportMetrics {
		c.transport = append(c.transport, desc(m.name, m.help))
	}
	for _, m := range peerMetrics {
		c.peer = append(c.peer, desc(m.name, m.help, labelPeer))
	}
	return c
}

// Describe sends the descriptors of every metric the collector can
// produce, peers or not: it is explicit rather than
// prometheus.DescribeByCollect, which would cost a Stats call and miss
// the per-peer metrics while there are no peers.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.err != nil {
		ch <- prometheus.NewInvalidDesc(c.err)
		return
	}
	for _, d := range c.transport {
		ch <- d
	}
	for _, d := range c.peer {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{
		c.handshakeFailures, c.connectionsRefused,
		c.peerInfo, c.peerState, c.peerRTT, c.peerRTTLast,
	} {
		ch <- d
	}
}

// Collect takes one Stats snapshot of the source and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.err != nil {
		ch <- prometheus.NewInvalidMetric(prometheus.NewInvalidDesc(c.err), c.err)
		return
	}
	s := c.src.Stats()
	for i, m := range transportMetrics {
		constMetric(ch, c.transport[i], m.typ, m.value(&s))
	}
	for cause, n := range s.HandshakeFailures {
		constMetric(ch, c.handshakeFailures, counter, float64(n), cause)
	}
	for limit, n := range s.ConnectionsRefused {
		constMetric(ch, c.connectionsRefused, counter, float64(n), limit)
	}
	for i := range s.Peers {
		c.collectPeer(ch, &s.Peers[i])
	}
}

// collectPeer sends one peer's metrics.
func (c *Collector) collectPeer(ch chan<- prometheus.Metric, p *engine.PeerStats) {
	for i, m := range peerMetrics {
		constMetric(ch, c.peer[i], m.typ, m.value(p), p.NodeID)
	}
	constMetric(ch, c.peerInfo, gauge, 1, p.NodeID, p.Address)
	known := false
	for _, state := range peerStates {
		known = known || state == p.State
		constMetric(ch, c.peerState, gauge, bit(state == p.State), p.NodeID, state)
	}
	if !known { // a state newer than this package: still reported
		constMetric(ch, c.peerState, gauge, 1, p.NodeID, p.State)
	}

	count, sum, buckets := constHistogram(p.RTTHistogram)
	h, err := prometheus.NewConstHistogram(c.peerRTT, count, sum, buckets, p.NodeID)
	if err != nil {
		h = prometheus.NewInvalidMetric(c.peerRTT, err)
	}
	ch <- h
	if p.RTTHistogram.Count > 0 {
		constMetric(ch, c.peerRTTLast, gauge, p.RTT.Seconds(), p.NodeID)
	}
}

// constMetric sends a const metric, or, when desc or the label values are
// invalid, an invalid metric that makes the registry report the error (a
// panic would take the scraped process down).
func constMetric(ch chan<- prometheus.Metric, desc *prometheus.Desc, typ prometheus.ValueType, v float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(desc, typ, v, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}

var _ prometheus.Collector = (*Collector)(nil)
