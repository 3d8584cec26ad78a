package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// message is one thing a stream delivered: a message, or the server's
// polite close.
type message struct {
	seq     int64 // 0: the message carries no sequence number
	pod     string
	version string
	close   bool  // the server ended the stream politely
	last    int64 // on close: the last seq the server sent (-1: it did not say)
}

// stream is one open stream connection.
type stream interface {
	// next blocks for the next message. On the polite close or an error
	// the stream is over and its connection released.
	next() (message, error)
	// goodbye ends the stream politely from this side where the protocol
	// has a goodbye (a WebSocket close frame): next then returns once the
	// server answered it. It reports false for a protocol without one (the
	// caller cancels the connection). Safe to call while next blocks.
	goodbye() bool
}

// handshake is what the answer that opened a stream said.
type handshake struct {
	code int    // HTTP status (101 for a WebSocket)
	pod  string // the plan's pod header, if the answer carried it
}

// opener opens the streams of one target. Cancelling ctx aborts the
// handshake and, later, the stream.
type opener interface {
	open(ctx context.Context) (stream, handshake, error)
}

// errCloseFrame marks a WebSocket closed with a status that is not a
// polite end (1000, 1001): the server said why, it did not just vanish.
type errCloseFrame struct{ err error }

func (e errCloseFrame) Error() string {
	return fmt.Sprintf("closed with status %d: %v", int(websocket.CloseStatus(e.err)), e.err)
}
func (e errCloseFrame) Unwrap() error { return e.err }

// errNoStream is a handshake that succeeded as HTTP but opened no stream
// (an SSE answer that is not text/event-stream, a 204, a redirect).
var errNoStream = errors.New("no stream")

// streamURL is the target's URL asking for the plan's interval.
func streamURL(raw string, interval time.Duration) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("interval", interval.String())
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// streamTransport is one target's transport: a new connection for every
// stream (a reconnect must go through the Service and pick a pod anew, not
// ride a kept-alive connection back to a draining pod), no proxy, no
// compression (a gzipped stream is buffered), small write buffers (a
// stream writes one request).
func streamTransport(p StreamPlan) *http.Transport {
	return &http.Transport{
		Proxy:              nil,
		DialContext:        (&net.Dialer{Timeout: p.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		DisableKeepAlives:  true,
		DisableCompression: true,
		WriteBufferSize:    1 << 10,
		ReadBufferSize:     4 << 10,
	}
}

func newOpener(p StreamPlan, t StreamTarget) (opener, error) {
	u, err := streamURL(t.URL, p.Interval)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{}
	hdr.Set(PathHeader, t.Path)
	switch t.Kind {
	case WebSocket:
		return wsOpener{url: u, host: t.Host, header: hdr, podHeader: p.PodHeader,
			client: &http.Client{Transport: streamTransport(p)}}, nil
	default:
		hdr.Set("Accept", "text/event-stream")
		hdr.Set("Cache-Control", "no-cache")
		return sseOpener{url: u, host: t.Host, header: hdr, podHeader: p.PodHeader, rt: streamTransport(p)}, nil
	}
}

// sseOpener opens server-sent event streams.
type sseOpener struct {
	url, host, podHeader string
	header               http.Header
	rt                   http.RoundTripper // no client: a redirect is no stream, not to be followed
}

func (o sseOpener) open(ctx context.Context) (stream, handshake, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url, nil)
	if err != nil {
		return nil, handshake{}, err
	}
	req.Header = o.header.Clone()
	if o.host != "" {
		req.Host = o.host
	}
	resp, err := o.rt.RoundTrip(req)
	if err != nil {
		return nil, handshake{}, err
	}
	hs := handshake{code: resp.StatusCode, pod: resp.Header.Get(o.podHeader)}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		resp.Body.Close()
		return nil, hs, fmt.Errorf("%w: status %d, content type %q", errNoStream, resp.StatusCode, ct)
	}
	return &sseStream{body: resp.Body, r: bufio.NewReaderSize(resp.Body, 1<<10)}, hs, nil
}

// sseStream reads server-sent events (the WHATWG event stream format):
// fields up to a blank line make one event; "close" is the fixture's
// polite end.
type sseStream struct {
	body io.ReadCloser
	r    *bufio.Reader
	// reused between events
	long  []byte // a line longer than r's buffer
	data  []byte
	event []byte
	id    []byte
	wire  wireMessage
}

// sseCloseEvent is the event that ends a stream politely (fixtures/server:
// SSECloseEvent).
const sseCloseEvent = "close"

// maxSSELine bounds a line: a server that never sends a newline must not
// grow the buffer without end.
const maxSSELine = 1 << 20

func (s *sseStream) next() (message, error) {
	s.data, s.event, s.id = s.data[:0], s.event[:0], s.id[:0]
	hasData := false
	for {
		line, err := s.line()
		if err != nil {
			s.body.Close()
			if err == io.EOF {
				return message{}, errors.New("the stream ended without the close event (EOF)")
			}
			return message{}, err
		}
		if len(line) == 0 { // dispatch
			if !hasData {
				s.event, s.id = s.event[:0], s.id[:0]
				continue
			}
			return s.dispatch()
		}
		if line[0] == ':' { // a comment (keep-alive)
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) { // no allocation: the compiler compares in place
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data, hasData = append(s.data, value...), true
		case "event":
			s.event = append(s.event[:0], value...)
		case "id":
			s.id = append(s.id[:0], value...)
		}
	}
}

func (s *sseStream) dispatch() (message, error) {
	if string(s.event) == sseCloseEvent {
		var c struct {
			Last *int64 `json:"last"`
		}
		m := message{close: true, last: -1}
		if json.Unmarshal(s.data, &c) == nil && c.Last != nil {
			m.last = *c.Last
		}
		s.body.Close()
		return m, nil
	}
	m := s.wire.parse(s.data)
	if id, err := strconv.ParseInt(string(s.id), 10, 64); err == nil && len(s.id) > 0 {
		m.seq = id // the event id is the stream's own sequence
	}
	return m, nil
}

// line returns the next line without its end of line; it is valid until
// the next call.
func (s *sseStream) line() ([]byte, error) {
	b, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(s.long) > maxSSELine {
				return nil, fmt.Errorf("an event stream line longer than %d bytes", maxSSELine)
			}
			b, err = s.r.ReadSlice('\n')
			s.long = append(s.long, b...)
		}
		b = s.long
	}
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF // a line cut short
		}
		return nil, err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b, nil
}

func (s *sseStream) goodbye() bool { return false }

// wireMessage is a message's JSON (fixtures/server: StreamMessage). Pod
// and version are the same on every message of a stream: only the first
// is decoded in full.
type wireMessage struct {
	Seq     int64  `json:"seq"`
	Pod     string `json:"pod"`
	Version string `json:"version"`
	decoded bool
}

func (w *wireMessage) parse(b []byte) message {
	if !w.decoded {
		w.decoded = json.Unmarshal(b, w) == nil
		return message{seq: w.Seq, pod: w.Pod, version: w.Version}
	}
	if seq, ok := jsonSeq(b); ok {
		return message{seq: seq}
	}
	var m wireMessage
	json.Unmarshal(b, &m)
	return message{seq: m.Seq, pod: m.Pod, version: m.Version}
}

// jsonSeq finds the top-level "seq" number of a flat JSON object without
// decoding it: at thousands of messages a second a full decode of each is
// most of the engine's CPU. It reports false when unsure.
func jsonSeq(b []byte) (int64, bool) {
	i := bytes.Index(b, []byte(`"seq":`))
	if i < 0 || bytes.Count(b[:i], []byte{'{'}) != 1 {
		return 0, false
	}
	b = bytes.TrimLeft(b[i+len(`"seq":`):], " ")
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 18 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b[:n]), 10, 64)
	return v, err == nil
}

// wsOpener opens WebSockets.
type wsOpener struct {
	url, host, podHeader string
	header               http.Header
	client               *http.Client
}

func (o wsOpener) open(ctx context.Context) (stream, handshake, error) {
	c, resp, err := websocket.Dial(ctx, o.url, &websocket.DialOptions{HTTPClient: o.client, HTTPHeader: o.header, Host: o.host})
	var hs handshake
	if resp != nil {
		hs = handshake{code: resp.StatusCode, pod: resp.Header.Get(o.podHeader)}
	}
	if err != nil {
		return nil, hs, err
	}
	return &wsStream{c: c, ctx: ctx}, hs, nil
}

// wsStream reads a WebSocket's messages: a close frame 1000 or 1001 is the
// polite end.
type wsStream struct {
	c    *websocket.Conn
	ctx  context.Context // the session's: cancelling it closes the connection
	wire wireMessage

	mu      sync.Mutex
	leaving chan struct{} // closed when our goodbye is done; nil until one began
}

func (s *wsStream) next() (message, error) {
	_, b, err := s.c.Read(s.ctx)
	if err == nil {
		return s.wire.parse(b), nil
	}
	s.mu.Lock()
	leaving := s.leaving
	s.mu.Unlock()
	if leaving != nil {
		<-leaving // the close handshake we began is over
	}
	_ = s.c.CloseNow()
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return message{close: true, last: -1}, nil
	case -1:
		return message{}, err
	default:
		return message{}, errCloseFrame{err}
	}
}

func (s *wsStream) goodbye() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaving == nil {
		s.leaving = make(chan struct{})
		go func() {
			defer close(s.leaving)
			_ = s.c.Close(websocket.StatusNormalClosure, "load stopped")
		}()
	}
	return true
}
