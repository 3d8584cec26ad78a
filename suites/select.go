package suites

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Select returns the entries a label filter (Ginkgo's syntax: "gating",
// "gating || ingress", "disruptions && !control") selects. Every entry also
// carries the Cluster label, as its spec does.
func Select(entries []Entry, filter string) ([]Entry, error) {
	match, err := types.ParseLabelFilter(filter)
	if err != nil {
		msg := err.Error()
		var ge types.GinkgoError
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		// Ginkgo's message is for a terminal: colour codes and markup
		msg = strings.Join(strings.Fields(ansi.ReplaceAllString(msg, "")), " ")
		return nil, fmt.Errorf("suites: label filter %q: %s (labels: %s)", filter, msg, strings.Join(LabelNames(), ", "))
	}
	var out []Entry
	for _, e := range entries {
		if match(e.LabelStrings()) {
			out = append(out, e)
		}
	}
	return out, nil
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m|\{\{/?[a-z-]*\}\}`)
