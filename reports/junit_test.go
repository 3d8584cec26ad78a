package reports

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/outcome"
)

func TestJUnitOneCaseACellFailedWhenNotAsExpected(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	outs[0].Verdict.AsExpected = false
	raw, err := JUnit("zerodrop", outs)
	if err != nil {
		t.Fatal(err)
	}
	var ts struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	}
	if err := xml.Unmarshal(raw, &ts); err != nil {
		t.Fatal(err)
	}
	if ts.Tests != len(outs) || ts.Failures != 1 || ts.Cases[0].Failure == nil || !strings.Contains(ts.Cases[0].Name, "[new-connection]") {
		t.Fatalf("%s", raw)
	}
}
