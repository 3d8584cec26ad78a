package outcome

import "time"

// StreamKind is the protocol of a stream path.
type StreamKind string

const (
	SSE       StreamKind = "sse" // server-sent events: a GET whose body never ends
	WebSocket StreamKind = "ws"
)

// Session is what a stream record adds to a request record: a stream is
// judged by how its connection ended, not by one answer.
//
// A session is ok when the server ended it politely (Closed "polite") and
// no message was missing, or when the harness closed it (Closed "stop" at
// the end of the load, "redial" when it moved the connection to reach
// another pod, "lifetime" when the client's session ran its course): then
// the client reconnects and loses nothing. A session cut
// without the polite close is a StreamCut, one that missed messages a
// StreamGap.
type Session struct {
	Kind StreamKind `json:"kind"`
	// Slot is which of the path's open connections this session was: the
	// next session of a slot is its reconnect.
	Slot int `json:"slot"`
	// Messages counts the messages received; Missing the sequence numbers
	// skipped.
	Messages int `json:"messages"`
	Missing  int `json:"missing,omitempty"`
	// Closed says who closed the session: "polite" (the server's close
	// event or frame), "stop" (the harness, at the end of the load) or
	// "redial" (the harness, to move the connection); "" when it was cut,
	// stalled or never opened. A session with a gap keeps how it closed.
	Closed string `json:"closed,omitempty"`
	// FirstMessage is from Start to the first message: what a client
	// waits for its stream when it (re)connects.
	FirstMessage time.Duration `json:"firstMessageNs,omitempty"`
	// Reconnect is how long the slot was without a live stream before this
	// session's first message: from the end of the slot's last session that
	// received messages (however it ended, so refused or turned-away tries
	// in between count in it). Zero for a slot's first stream and after a
	// redial.
	Reconnect time.Duration `json:"reconnectNs,omitempty"`
}

// How a harness-ended or politely ended session was closed (Session.Closed).
const (
	ClosedPolite = "polite"
	ClosedStop   = "stop"
	ClosedRedial = "redial"
	// ClosedLifetime: the client ended the stream at the plan's lifetime, as
	// real clients end their sessions.
	ClosedLifetime = "lifetime"
)

// StreamPlan is the stream load that was planned, as recorded.
type StreamPlan struct {
	Conns          int           `json:"conns"` // open connections per path
	Interval       time.Duration `json:"intervalNs"`
	ConnectTimeout time.Duration `json:"connectTimeoutNs"`
	StallTimeout   time.Duration `json:"stallTimeoutNs"`
	RetryDelay     time.Duration `json:"retryDelayNs"`
	OpenRate       int           `json:"openRate,omitempty"` // first connections per second
	// Lifetime is how long a client kept a stream before ending it itself (0: until the load stopped).
	Lifetime time.Duration `json:"lifetimeNs,omitempty"`
}

// StreamStats are what a stream path adds to its PathStats, where each
// session counts as one request (Sent, OK, Failed by class).
type StreamStats struct {
	Kind  StreamKind `json:"kind"`
	Conns int        `json:"conns"` // connections held open (planned)
	// Messages counts the messages received on every session; Missing the
	// messages that never arrived.
	Messages int `json:"messages"`
	Missing  int `json:"missing,omitempty"`
	// Polite, Stopped, Redialed and Ended count the ok sessions by who
	// closed them (Ended: the client, at its lifetime).
	Polite   int `json:"polite"`
	Stopped  int `json:"stopped"`
	Redialed int `json:"redialed,omitempty"`
	Ended    int `json:"ended,omitempty"`
	// Empty counts sessions whose handshake succeeded but that received no
	// message (turned away by a draining pod, or stopped before the first).
	Empty int `json:"empty,omitempty"`
	// Reconnects counts the sessions that took over a slot after an earlier
	// session of it ended, and their Session.Reconnect latencies.
	Reconnects   int           `json:"reconnects"`
	ReconnectP50 time.Duration `json:"reconnectP50Ns,omitempty"`
	ReconnectP99 time.Duration `json:"reconnectP99Ns,omitempty"`
	ReconnectMax time.Duration `json:"reconnectMaxNs,omitempty"`
}
