package scenariofile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerodrop/zerodrop/suites"
)

// TestTheCommittedSchemaIsCurrent: docs/zerodrop.schema.json is what the
// types generate, so editors check files against what zerodrop decodes.
func TestTheCommittedSchemaIsCurrent(t *testing.T) {
	want, err := Schema(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", SchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the types generate: run go generate ./suites/scenariofile", SchemaFile)
	}
	// the descriptions come from the doc comments, the enums from the vocabularies
	var s struct {
		Defs map[string]struct {
			Description string `json:"description"`
			Properties  map[string]struct {
				Description string `json:"description"`
				Items       struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(want, &s); err != nil {
		t.Fatal(err)
	}
	spec := s.Defs["Spec"]
	if spec.Properties["manifests"].Description == "" || len(spec.Properties["paths"].Items.Enum) != 2*len(suites.Paths) || len(spec.Properties["disruptions"].Items.Enum) != len(FileDisruptions()) {
		t.Fatalf("Spec's schema lacks descriptions or enums: %+v", spec)
	}
}
