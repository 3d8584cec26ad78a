package scenariofile

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

// DefaultHTTPPath is what every request asks for when target.path is not given.
const DefaultHTTPPath = "/"

// Scenarios returns one scenario per disruption, in the file's order, each
// with the workload as its App (objects of its own, free to change) and a
// profile recorded from the pod template.
//
// The expectation is the profile's, per client (spec.expect and
// spec.expectKeepAlive): Scenario.Expect would override both clients at
// once. The ungraceful disruptions (kill-container, stop-node) are negative
// controls and expect fail whatever the file says, as in the named sets.
//
// A version change has no version header to check on a user's app: every
// NewVersion is empty, and the rolling disruptions only change the pod
// template (the zerodrop.dev/version annotation), which is a new revision.
func (f *File) Scenarios() ([]suites.Scenario, error) {
	a := f.app
	if a == nil {
		return nil, errors.New("scenariofile: the file was not loaded: use Load or Parse, which check it")
	}
	profile := recordProfile(f, a.ctl)
	s := f.Spec
	httpPath := s.Target.Path
	if httpPath == "" {
		httpPath = DefaultHTTPPath
	}
	out := make([]suites.Scenario, 0, len(a.disruptions))
	for _, k := range a.disruptions {
		d, err := k.Build(a.ctl.replicas)
		if err != nil {
			return nil, fmt.Errorf("scenariofile: %s: %w", k, err)
		}
		if k == suites.CloneSetInPlace {
			d.Do = chaos.CloneSetUpdate{Image: s.Controller.UpdateImage}
		}
		sc := suites.Scenario{
			Workload:   a.ctl.kind,
			Profile:    profile,
			Disruption: d.Do,
			Prepare:    d.Prepare,
			Paths:      slices.Clone(a.paths),
			Plan:       a.plan,
			Settle:     a.settle,
			App: &suites.App{
				Name:    f.Metadata.Name,
				Objects: copyObjects(a.objects),
				Target: workload.Ref{
					Kind: a.ctl.kind, Name: a.ctl.name, Container: a.ctl.container.Name,
					Selector: maps.Clone(a.ctl.selector),
					Service:  s.Target.Service, Port: s.Target.Port,
				},
				HTTPPath:     httpPath,
				ExpectStatus: s.Target.ExpectStatus,
				Images:       maps.Clone(a.images),
			},
		}
		if why := k.Ungraceful(); why != "" {
			sc.Expect, sc.Why = outcome.ExpectFail, why
		}
		out = append(out, sc)
	}
	return out, nil
}

func copyObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.DeepCopy()
	}
	return out
}
