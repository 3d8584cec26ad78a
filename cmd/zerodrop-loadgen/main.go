// Command zerodrop-loadgen runs zerodrop's load engine inside the cluster
// (for the ClusterIP path) — constant-rate requests, long-lived SSE and
// WebSocket streams, or both in one run — and serves the in-cluster
// protocol of package load:
// the harness starts and stops runs and streams the records back through the
// API server's pod proxy. Kind nodes share the host clock, so the records'
// times line up with the harness's.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/zerodrop/zerodrop/load"
)

func main() {
	listen := flag.String("listen", ":8081", "address of the control API")
	flag.Parse()
	srv := &http.Server{Addr: *listen, Handler: load.NewServer().Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(os.Stderr, "zerodrop-loadgen listening on", *listen)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "zerodrop-loadgen:", err)
		os.Exit(1)
	}
}
