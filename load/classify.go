package load

import "strings"

// Class is a request's outcome in the failure taxonomy.
type Class string

// The taxonomy. Everything but OK is a failed request.
const (
	OK        Class = "ok"
	Refused   Class = "refused" // nothing listens: the pod's socket is gone
	Reset     Class = "reset"   // connection reset by peer
	EOF       Class = "eof"     // server closed the connection without answering (often a kept-alive one)
	Timeout   Class = "timeout" // no answer in time
	HTTP502   Class = "502"     // bad gateway (proxy could not reach the pod)
	HTTP503   Class = "503"     // service unavailable (no endpoints, draining)
	HTTP504   Class = "504"     // gateway timeout
	HTTP5xx   Class = "5xx"     // other server errors
	HTTP4xx   Class = "4xx"     // client errors (e.g. 404 from a router without the route)
	OtherFail Class = "other"   // anything else (DNS, TLS, a 1xx, ...)
)

// Classes lists the failure classes in report order.
var Classes = []Class{Refused, Reset, EOF, Timeout, HTTP502, HTTP503, HTTP504, HTTP5xx, HTTP4xx, OtherFail}

// Failed reports whether the class is a failure.
func (c Class) Failed() bool { return c != OK }

// Classify maps a status code (0 for a transport error) and vegeta's error
// text to a class. A failed request is a transport error, a timeout, or a
// status outside 2xx/3xx.
func Classify(code int, errText string) Class {
	if code != 0 {
		switch {
		case code >= 200 && code < 400:
			return OK
		case code == 502:
			return HTTP502
		case code == 503:
			return HTTP503
		case code == 504:
			return HTTP504
		case code >= 500:
			return HTTP5xx
		case code >= 400:
			return HTTP4xx
		}
		return OtherFail
	}
	e := strings.ToLower(errText)
	switch {
	case strings.Contains(e, "connection refused"):
		return Refused
	case strings.Contains(e, "connection reset"), strings.Contains(e, "broken pipe"):
		return Reset
	case strings.Contains(e, "timeout"), strings.Contains(e, "deadline exceeded"):
		return Timeout
	case strings.HasSuffix(e, "eof"), strings.Contains(e, "server closed idle connection"), strings.Contains(e, "unexpected eof"):
		return EOF
	}
	return OtherFail
}
