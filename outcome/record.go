package outcome

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Record is one request, as the load engine saw it.
type Record struct {
	Path    string        `json:"path"`
	Seq     uint64        `json:"seq"`
	Start   time.Time     `json:"start"`
	Latency time.Duration `json:"latencyNs"`
	Code    int           `json:"code"`
	Class   Class         `json:"class"`
	Pod     string        `json:"pod,omitempty"`
	Version string        `json:"version,omitempty"`
	// Conn is "new" or "reused" (httptrace GotConn), "" when no connection was had.
	Conn  string `json:"conn,omitempty"`
	Error string `json:"error,omitempty"`
}

// End is when the request finished.
func (r Record) End() time.Time { return r.Start.Add(r.Latency) }

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

// ReadRecords reads records written as JSON lines (records.jsonl), calling fn
// for each in file order.
func ReadRecords(r io.Reader, fn func(Record) error) error {
	dec := json.NewDecoder(r)
	for {
		var rec Record
		if err := dec.Decode(&rec); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("outcome: read records: %w", err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}
