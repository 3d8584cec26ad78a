// Package droptest is a keep-alive HTTP/1.1 server for tests that decides,
// request by request, whether to answer or to read the request and close
// the connection without a word — what a pod exiting under a pooled
// connection does. It listens on 127.0.0.1 only.
package droptest

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// Server answers 200 with X-Pod-Name: pod-a when answer(conn, nth) is true
// for the nth request on the conn-th connection (both from 1), and otherwise
// closes the connection after reading the request. afterAnswer, if set,
// runs after each answer (to close an idle connection, say). It returns the
// URL and the count of requests dropped.
func Server(t testing.TB, answer func(conn, nth int) bool, afterAnswer func(c net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var dropped, conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			id := int(conns.Add(1))
			go serve(c, id, answer, afterAnswer, &dropped)
		}
	}()
	return "http://" + ln.Addr().String() + "/", &dropped
}

func serve(c net.Conn, id int, answer func(conn, nth int) bool, afterAnswer func(c net.Conn), dropped *atomic.Int64) {
	defer c.Close()
	br := bufio.NewReader(c)
	for nth := 1; ; nth++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		req.Body.Close()
		if !answer(id, nth) {
			dropped.Add(1)
			return // the request was read: close without an answer
		}
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Pod-Name: pod-a\r\n\r\nok\n")); err != nil {
			return
		}
		if afterAnswer != nil {
			afterAnswer(c)
		}
	}
}
