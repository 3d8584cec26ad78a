// Command genschema writes the scenario file's JSON Schema: go generate
// ./suites/scenariofile runs it in the package's directory, whose source
// holds the descriptions.
package main

import (
	"fmt"
	"os"

	"github.com/zerodrop/zerodrop/suites/scenariofile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genschema OUT.json (run in suites/scenariofile)")
		os.Exit(2)
	}
	s, err := scenariofile.Schema(".")
	if err == nil {
		err = os.WriteFile(os.Args[1], s, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
