package load

import (
	"strings"

	"github.com/zerodrop/zerodrop/outcome"
)

// Class is a request's outcome in the failure taxonomy (see package outcome).
type Class = outcome.Class

// Classify maps a status code (0 for a transport error) and vegeta's error
// text to a class. A failed request is a transport error, a timeout, or a
// status outside 2xx/3xx.
func Classify(code int, errText string) Class {
	if code != 0 {
		switch {
		case code >= 200 && code < 400:
			return outcome.OK
		case code == 502:
			return outcome.HTTP502
		case code == 503:
			return outcome.HTTP503
		case code == 504:
			return outcome.HTTP504
		case code >= 500:
			return outcome.HTTP5xx
		case code >= 400:
			return outcome.HTTP4xx
		}
		return outcome.OtherFail
	}
	e := strings.ToLower(errText)
	switch {
	case strings.Contains(e, "lookup ") && !strings.Contains(e, "no such host"):
		// "dial tcp: lookup web.ns.svc.cluster.local.: i/o timeout": the
		// DNS server did not answer; a name with no address is NoAddress
		return outcome.DNSFailed
	case strings.Contains(e, "connection refused"):
		return outcome.Refused
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"):
		return outcome.Reset
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
		return outcome.Timeout
	case strings.HasSuffix(e, "eof"), strings.Contains(e, "server closed idle connection"), strings.Contains(e, "unexpected eof"):
		return outcome.EOF
	case strings.Contains(e, "no such host"):
		return outcome.NoAddress
	}
	return outcome.OtherFail
}
