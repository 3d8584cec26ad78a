// Command exampleimage writes the example app's image archive
// (docs/examples/plain-app/plain-app.tar, plain-app:v1) with no registry
// and no Docker engine, for the examples' scenario files to load
// (spec.images). make examples runs it from the source tree's root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/zerodrop/zerodrop/internal/exampleimage"
)

func main() {
	app := flag.String("app", "docs/examples/plain-app/app", "the example app's Go module")
	out := flag.String("out", "docs/examples/plain-app/plain-app.tar", "the image archive to write")
	tag := flag.String("tag", exampleimage.Tag, "the image's tag")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := exampleimage.Build(ctx, *app, *out, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s\n", *out, *tag)
}
