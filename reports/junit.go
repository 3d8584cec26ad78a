package reports

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// JUnit renders outcomes as JUnit XML for CI systems: one test case per
// cell (scenario × client), failed when its verdict is not as expected,
// with the reason and the cell's expectation. Pure.
func JUnit(suite string, outs []*outcome.Outcome) ([]byte, error) {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      float64  `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Time     float64    `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	ts := testsuite{Name: suite}
	for _, o := range outs {
		dur := 0.0
		if !o.Ended.IsZero() {
			dur = o.Ended.Sub(o.Started).Seconds()
		}
		for _, c := range cellsOf(o) {
			tc := testcase{Name: o.Scenario.ID + " [" + string(c.Client) + "]", Classname: "zerodrop." + o.Scenario.Profile.Name, Time: dur,
				SystemOut: strings.Join(details(o), "\n")}
			if !c.Verdict.AsExpected {
				ts.Failures++
				tc.Failure = &failure{Message: fmt.Sprintf("%s, expected %s", c.Verdict.Result, c.Expected), Type: string(c.Verdict.Result), Text: c.Verdict.Reason}
			}
			ts.Cases = append(ts.Cases, tc)
			ts.Tests++
			ts.Time += dur
		}
	}
	ts.Time = float64(time.Duration(ts.Time * float64(time.Second)).Round(time.Millisecond).Seconds())
	raw, err := xml.MarshalIndent(ts, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("reports: junit: %w", err)
	}
	return append([]byte(xml.Header), raw...), nil
}
