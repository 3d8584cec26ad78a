package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Record is one request, as the recorder saw it (the outcome's record format).
type Record = outcome.Record

// Sink receives every record as it arrives. It must be safe for use by one
// goroutine at a time; the engine serialises calls.
type Sink interface {
	Write(Record) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Record) error

// Write calls f.
func (f SinkFunc) Write(r Record) error { return f(r) }

// JSONLSink streams records as JSON lines, flushing at least every
// FlushEvery so a crash loses at most that much.
type JSONLSink struct {
	mu        sync.Mutex
	w         *bufio.Writer
	enc       *json.Encoder
	closer    io.Closer
	lastFlush time.Time
	// FlushEvery bounds how long a record may sit in the buffer (default 200ms).
	FlushEvery time.Duration
}

// NewJSONLSink writes to w (closed by Close when it is an io.Closer).
func NewJSONLSink(w io.Writer) *JSONLSink {
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &JSONLSink{w: bw, enc: json.NewEncoder(bw), lastFlush: time.Now(), FlushEvery: 200 * time.Millisecond}
	if c, ok := w.(io.Closer); ok {
		s.closer = c
	}
	return s
}

// CreateJSONL creates a file sink.
func CreateJSONL(path string) (*JSONLSink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return NewJSONLSink(f), nil
}

// Write appends a record.
func (s *JSONLSink) Write(r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.enc.Encode(r); err != nil {
		return fmt.Errorf("load: write record: %w", err)
	}
	if time.Since(s.lastFlush) >= s.FlushEvery {
		s.lastFlush = time.Now()
		return s.w.Flush()
	}
	return nil
}

// Close flushes and closes.
func (s *JSONLSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("load: flush records: %w", err)
	}
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// ReadJSONL reads records written by JSONLSink.
func ReadJSONL(r io.Reader, fn func(Record) error) error { return outcome.ReadRecords(r, fn) }
