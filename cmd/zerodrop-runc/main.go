// Command zerodrop-runc is an OCI runtime that dockerd runs instead of runc on
// hosts whose capability bounding set lacks capabilities that --privileged
// asks for. It drops those capabilities from the spec runc is about to read,
// then execs the real runc with the same arguments.
package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/zerodrop/zerodrop/kind/dockerd/capfilter"
)

// realRunc can be overridden at build time: -X main.realRunc=/path/to/runc.
var realRunc = "/usr/sbin/runc"

func main() {
	if err := filter(os.Args[1:]); err != nil {
		// runc's caller (containerd's shim) shows stderr in the docker error.
		fmt.Fprintln(os.Stderr, "zerodrop-runc:", err)
		os.Exit(1)
	}
	argv := append([]string{realRunc}, os.Args[1:]...)
	if err := syscall.Exec(realRunc, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "zerodrop-runc: exec %s: %v\n", realRunc, err)
		os.Exit(1)
	}
}

func filter(args []string) error {
	files := capfilter.SpecFiles(args, mustGetwd())
	if len(files) == 0 {
		return nil
	}
	have, err := capfilter.Bounding()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := capfilter.FilterFile(f, have); err != nil {
			return err
		}
	}
	return nil
}

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}
