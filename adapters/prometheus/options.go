package prometheus

import (
	"fmt"
	"maps"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// DefaultNamespace is the prefix of every metric's name unless
// WithNamespace says otherwise.
const DefaultNamespace = "tcnet"

// Option configures a Collector.
type Option func(*options)

type options struct {
	namespace   string
	constLabels prometheus.Labels
}

// WithNamespace sets the prefix of the metrics' names (default
// DefaultNamespace); "" leaves them unprefixed ("messages_sent_total").
// It must be a classic metric name, [a-zA-Z_:][a-zA-Z0-9_:]* (snake_case
// by convention), or the collector's registration fails.
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithConstLabels adds labels with fixed values to every metric, to tell
// apart several transports registered in one registry. Their names must
// be classic label names, [a-zA-Z_][a-zA-Z0-9_]* not starting with "__",
// and none of the collector's own labels (peer, state, address, cause,
// limit), or the collector's registration fails.
func WithConstLabels(l prometheus.Labels) Option {
	l = maps.Clone(l)
	return func(o *options) { o.constLabels = l }
}

// validate checks what NewDesc would let through: client_golang accepts
// any UTF-8 name, which the classic text format cannot carry unquoted.
func (o *options) validate() error {
	if o.namespace != "" && !model.LegacyValidation.IsValidMetricName(o.namespace) {
		return fmt.Errorf("transport collector: namespace %q is not a metric name [a-zA-Z_:][a-zA-Z0-9_:]*", o.namespace)
	}
	for name := range o.constLabels {
		if !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") {
			return fmt.Errorf("transport collector: constant label %q is not a label name [a-zA-Z_][a-zA-Z0-9_]* (not starting with __)", name)
		}
	}
	return nil
}
