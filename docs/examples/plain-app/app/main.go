// Command plain-app is an ordinary HTTP server, as many are written: it
// answers on :8080 and does nothing on SIGTERM, so Go's default handling
// ends it at once. It knows nothing of zerodrop and sends no header of its own.
// Each answer takes 50 ms, as a real app's work does: requests are in
// flight whenever a pod exits, as they are in production, not only when
// an exit happens to meet one.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

// work is what each answer takes.
const work = 50 * time.Millisecond

func main() {
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(work)
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	log.Fatal(http.ListenAndServe(":8080", mux))
}
