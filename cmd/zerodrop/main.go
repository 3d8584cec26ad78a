// Command zerodrop proves, or disproves, that a Kubernetes workload loses zero
// requests while its pods are deleted, evicted, drained, rolled and scaled.
package main

import "github.com/zerodrop/zerodrop/cmd/zerodrop/app"

func main() { app.Main() }
