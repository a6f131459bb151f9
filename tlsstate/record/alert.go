package record

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// AlertDescription is a TLS alert's code (RFC 8446 §6).
type AlertDescription uint8

// The alerts this layer sends or treats specially.
const (
	AlertCloseNotify       AlertDescription = 0
	AlertUnexpectedMessage AlertDescription = 10
	AlertBadRecordMAC      AlertDescription = 20
	AlertRecordOverflow    AlertDescription = 22
	AlertIllegalParameter  AlertDescription = 47
	AlertDecodeError       AlertDescription = 50
	AlertProtocolVersion   AlertDescription = 70
	AlertInternalError     AlertDescription = 80
	AlertUserCanceled      AlertDescription = 90
)

// String returns the alert's text as crypto/tls writes it ("bad record
// MAC", "certificate required").
func (a AlertDescription) String() string {
	return strings.TrimPrefix(tls.AlertError(a).Error(), "tls: ")
}

// Alert is a fatal record-layer error: one this layer found (Sent: it
// queued the alert for the peer) or one the peer sent (Sent false).
type Alert struct {
	Description AlertDescription
	Sent        bool   // this side detected the error and queued the alert
	Reason      string // what was wrong, when this side detected it
}

// Error reads like crypto/tls's errors: "remote error: tls: bad
// certificate" for the peer's alert.
func (a *Alert) Error() string {
	if a.Sent {
		return fmt.Sprintf("tls: %s (sent alert: %s)", a.Reason, a.Description)
	}
	return "remote error: tls: " + a.Description.String()
}

// Unwrap returns the alert as a tls.AlertError.
func (a *Alert) Unwrap() error { return tls.AlertError(a.Description) }

func alertf(d AlertDescription, format string, args ...any) *Alert {
	return &Alert{Description: d, Sent: true, Reason: fmt.Sprintf(format, args...)}
}
