package scenariofile

import (
	"errors"
	"fmt"
	"strings"
)

// Invalid is every problem of a scenario file, each naming where it is (a
// field path, or a manifest's file and line) and the fix.
type Invalid struct {
	Path     string
	Problems []error
}

func (e *Invalid) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "  " + p.Error()
	}
	n := "1 problem"
	if len(e.Problems) != 1 {
		n = fmt.Sprintf("%d problems", len(e.Problems))
	}
	return fmt.Sprintf("scenario file %s: %s:\n%s", e.Path, n, strings.Join(lines, "\n"))
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *Invalid) Unwrap() []error { return e.Problems }

// problems collects what is wrong, in the order found.
type problems struct {
	errs []error
	// undecoded are the field paths whose values did not decode: checks of
	// them (or below them) would only repeat that as "missing".
	undecoded []string
}

// addf adds a problem at a field path; the message follows the path, so it
// starts with ": " or with the value (" -5: ...").
func (p *problems) addf(field, format string, args ...any) {
	for _, u := range p.undecoded {
		if field == u || strings.HasPrefix(field, u+".") || strings.HasPrefix(field, u+"[") {
			return
		}
	}
	p.errs = append(p.errs, errors.New(field+fmt.Sprintf(format, args...)))
}

// add adds a problem that names its own place (a manifest's file and line).
func (p *problems) add(err error) { p.errs = append(p.errs, err) }

// err is nil, or every problem.
func (p *problems) err(path string) error {
	if len(p.errs) == 0 {
		return nil
	}
	return &Invalid{Path: path, Problems: p.errs}
}
