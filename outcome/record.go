package outcome

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	// Conn is "new" or "reused" for the request's first try (httptrace
	// GotConn), "" when no connection was had.
	Conn string `json:"conn,omitempty"`
	// Attempts counts the tries Go's transport made (0: none got a
	// connection); Retry says why there was more than one: "written" (the
	// request was written on a reused connection that closed before any
	// answer) or "unwritten" (the reused connection was dead before the
	// request could be written).
	Attempts int    `json:"attempts,omitempty"`
	Retry    string `json:"retry,omitempty"`
	Error    string `json:"error,omitempty"`
	// Session is set on the record of a stream session (one long-lived
	// connection from open to end, see Session): Start is then when the
	// connection was begun, Latency how long the session lasted, Code the
	// handshake's status and Pod the one that sent the first message.
	Session *Session `json:"session,omitempty"`
}

// End is when the request finished.
func (r Record) End() time.Time { return r.Start.Add(r.Latency) }

// At is the moment a record is judged at: its end, when its outcome was
// known. A stream session opened during the warm-up and cut by the
// disruption failed inside it; so did a long request sent before the
// disruption and cut by it (grace-too-short's 20 s requests, SIGKILLed
// 8 s into the deletion) — judged at their start they fell before the
// span, or before the window, and a failure went unjudged.
func (r Record) At() time.Time { return r.End() }

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
	OtherFail Class = "other"   // anything else (TLS, a 1xx, ...)
	// NoAddress: the name resolved to no address — a headless Service
	// with no ready pod (or, before the load was warm, a name that does
	// not exist): for a client that resolves pods itself, what a 503 is
	// behind a proxy
	NoAddress Class = "no-address"
	// DNSFailed: the name lookup got no answer (an i/o timeout, a server
	// that misbehaves or refuses): the cluster's DNS failed the client, not
	// the workload. A path with such failures is no evidence (load: invalid).
	DNSFailed Class = "dns"
	// UnexpectedStatus is a 2xx or 3xx other than the one the target expects.
	UnexpectedStatus Class = "unexpected-status"
	// A request Go's transport sent twice because its kept-alive
	// connection broke, which the second try hid: written and unanswered,
	// or not even written. A client that is not Go, or a request that is
	// not idempotent, fails there, so a strict verdict counts it.
	RetriedNoAnswer  Class = "retried-no-answer"
	RetriedUnwritten Class = "retried-unwritten"
	// A stream session that ended without the server's polite close (the
	// SSE close event, a WebSocket close frame 1000 or 1001): EOF, a reset,
	// a cut chunked body. The client loses its stream with no warning, as
	// when the process serving it dies.
	StreamCut Class = "stream-cut"
	// A stream session that missed messages: a message's sequence number
	// skipped some (or went back), or the close event says more were sent
	// than arrived.
	StreamGap Class = "stream-gap"
)

// Classes lists the failure classes in report order.
var Classes = []Class{Refused, Reset, EOF, StreamCut, StreamGap, RetriedNoAnswer, RetriedUnwritten, Timeout, HTTP502, HTTP503, HTTP504, NoAddress, HTTP5xx, HTTP4xx, UnexpectedStatus, DNSFailed, OtherFail}

// RaceClasses are the classes an endpoint or shutdown race produces: what a
// negative control must show to prove the instrument sees the race.
var RaceClasses = []Class{Refused, Reset, EOF, StreamCut, RetriedNoAnswer, RetriedUnwritten, Timeout, HTTP502, HTTP503, HTTP504, NoAddress}

// IsRace reports whether the class is one a shutdown race produces.
func (c Class) IsRace() bool {
	for _, r := range RaceClasses {
		if c == r {
			return true
		}
	}
	return false
}

// RetriedClass is the class of a request that succeeded only on Go's hidden
// second try, by Record.Retry.
func RetriedClass(retry string) Class {
	if retry == "written" {
		return RetriedNoAnswer
	}
	return RetriedUnwritten
}

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

// ReadRecordsFile reads a records.jsonl file whole.
func ReadRecordsFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("outcome: %w", err)
	}
	defer f.Close()
	var out []Record
	err = ReadRecords(f, func(r Record) error { out = append(out, r); return nil })
	return out, err
}
