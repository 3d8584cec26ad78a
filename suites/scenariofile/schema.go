package scenariofile

import (
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

// SchemaFile is where the schema is committed, from the module's root.
const SchemaFile = "docs/zerodrop.schema.json"

// Schema returns the JSON Schema of a scenario file, for editors: the Go
// types' structure, their doc comments (read from this package's source in
// sourceDir) as descriptions, and the typed vocabularies (paths,
// disruptions, controller kinds, expectations) as enums. What it cannot
// express — that the Service and the controller are among the manifests,
// that a disruption fits the controller — zerodrop validate checks.
func Schema(sourceDir string) ([]byte, error) {
	pkg := reflect.TypeOf(File{}).PkgPath()
	r := &jsonschema.Reflector{Anonymous: true, Mapper: vocabulary}
	if err := r.AddGoComments(pkg, sourceDir); err != nil {
		return nil, fmt.Errorf("scenariofile: schema: %w", err)
	}
	// the comments are keyed by the import path joined with the directory
	// walked: key them by the package's import path alone
	walked := path.Join(pkg, filepath.ToSlash(sourceDir))
	for k, v := range r.CommentMap {
		if rest, ok := strings.CutPrefix(k, walked+"."); ok {
			r.CommentMap[pkg+"."+rest] = v
		}
	}
	s := r.Reflect(&File{})
	s.Title = "zerodrop scenario file"
	s.Description = "A user's own workload and what zerodrop does to it (zerodrop validate -f FILE; zerodrop run -f FILE)."
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("scenariofile: schema: %w", err)
	}
	return append(out, '\n'), nil
}

// vocabulary maps the typed vocabularies to enums, and Duration to a pattern.
func vocabulary(t reflect.Type) *jsonschema.Schema {
	enum := func(desc string, values ...any) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "string", Enum: values, Description: desc}
	}
	switch t {
	case reflect.TypeOf(suites.Path("")):
		var values []any
		for _, p := range suites.WithKeepAliveToo(suites.Paths...) {
			values = append(values, string(p))
		}
		return enum("A traffic path, with +ka for a keep-alive client.", values...)
	case reflect.TypeOf(suites.DisruptionKind("")):
		var values []any
		for _, d := range FileDisruptions() {
			values = append(values, string(d))
		}
		return enum("A disruption.", values...)
	case reflect.TypeOf(workload.Kind("")):
		var values []any
		for _, k := range workload.Kinds {
			values = append(values, string(k))
		}
		return enum("A workload controller.", values...)
	case reflect.TypeOf(outcome.Expectation("")):
		return enum("pass: zero failed requests; fail: it is known to drop requests; at-risk: it can drop a few (those in flight at an exit), so one trial may show none, and either is as expected.", string(outcome.ExpectPass), string(outcome.ExpectFail), string(outcome.ExpectRisk))
	case reflect.TypeOf(Duration("")):
		return &jsonschema.Schema{Type: "string", Pattern: `^-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Examples: []any{"3s", "500ms", "1m30s"}}
	}
	return nil
}
