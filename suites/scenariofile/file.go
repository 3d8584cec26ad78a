// Package scenariofile reads a scenario file (zerodrop.yaml): a user's own
// workload, given as plain manifests, and what to do to it. Load decodes the
// file strictly, reads its manifests and image archives, and checks
// everything it can without a cluster, reporting every problem at once with
// its field path and the fix; Scenarios turns a valid file into one
// suites.Scenario per disruption, with the workload as a suites.App and its
// graceful-shutdown settings recorded from the pod template.
//
// Its JSON Schema, for editors, is generated from these types:
// docs/zerodrop.schema.json (go generate ./suites/scenariofile).
package scenariofile

//go:generate go run ./genschema ../../docs/zerodrop.schema.json

import (
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

// The file's type, as Kubernetes objects name theirs.
const (
	APIVersion = "zerodrop.dev/v1alpha1"
	Kind       = "Scenario"
)

// File is a scenario file: the user's workload, where the load enters, what
// is done to the workload and what must come of it.
type File struct {
	// APIVersion is zerodrop.dev/v1alpha1.
	APIVersion string `json:"apiVersion" jsonschema:"enum=zerodrop.dev/v1alpha1"`
	// Kind is Scenario.
	Kind     string   `json:"kind" jsonschema:"enum=Scenario"`
	Metadata Metadata `json:"metadata"`
	Spec     Spec     `json:"spec"`

	// app is what Load read and checked beside the file; nil for a file
	// that was not loaded.
	app *app
}

// Metadata names the scenario file.
type Metadata struct {
	// Name is the workload's name in reports and scenario IDs (a DNS label).
	Name string `json:"name"`
}

// Spec is the workload and what to do to it.
type Spec struct {
	// Manifests are YAML (or JSON) files, and directories of them (*.yaml,
	// *.yml, *.json; not recursive), relative to this file. Every object is
	// created in the namespace zerodrop makes for each scenario, so none may
	// name a namespace or be cluster-scoped.
	Manifests []string `json:"manifests"`
	// Images are docker image archives (docker save -o FILE IMAGE), relative
	// to this file, loaded into every kind node before the scenarios: for
	// images no registry serves (an air-gapped cluster, an image built in CI).
	// Their tags are read from the archives.
	Images     []string   `json:"images,omitempty"`
	Target     Target     `json:"target"`
	Controller Controller `json:"controller"`
	// Disruptions are what is done to the controller while the load runs:
	// each becomes one scenario.
	Disruptions []suites.DisruptionKind `json:"disruptions"`
	// Paths are where the load enters, each with a new connection for every
	// request or, with +ka, a keep-alive client (default: nodeport,
	// nodeport+ka, clusterip, clusterip+ka).
	Paths []suites.Path `json:"paths,omitempty"`
	Load  LoadPlan      `json:"load,omitempty"`
	// Expect is what the workload must show under every disruption with a
	// new connection for every request: pass (zero failed requests) or fail
	// (it is known to drop requests). The ungraceful disruptions
	// (kill-container, stop-node) always expect fail.
	Expect outcome.Expectation `json:"expect"`
	// ExpectKeepAlive is the same for the keep-alive clients (+ka paths);
	// default: what expect says. at-risk (either may be seen) fits an app
	// that exits after a preStop sleep without closing its pooled
	// connections: only the requests in flight on them at the exit are cut,
	// and the clients' own connection churn may have moved every connection
	// off the pod by then.
	ExpectKeepAlive outcome.Expectation `json:"expectKeepAlive,omitempty"`
	// Why and WhyKeepAlive say why, for the report.
	Why          string `json:"why,omitempty"`
	WhyKeepAlive string `json:"whyKeepAlive,omitempty"`
}

// Target is what the load asks for.
type Target struct {
	// Service is the name of a ClusterIP Service among the manifests, in
	// front of the controller's pods.
	Service string `json:"service"`
	// Port is the Service's port to load.
	Port int32 `json:"port" jsonschema:"minimum=1,maximum=65535"`
	// Path is the HTTP path every request asks for (default /).
	Path string `json:"path,omitempty"`
	// ExpectStatus, when set, is the only status that counts as a success
	// (default: any 2xx or 3xx).
	ExpectStatus int `json:"expectStatus,omitempty" jsonschema:"minimum=100,maximum=599"`
}

// Controller is the workload controller the disruptions act on.
type Controller struct {
	// Kind is Deployment, StatefulSet or CloneSet (OpenKruise).
	Kind workload.Kind `json:"kind"`
	// Name is the controller's metadata.name among the manifests.
	Name string `json:"name"`
	// Container is the app container (default: the pod template's only, or
	// first, container).
	Container string `json:"container,omitempty"`
	// UpdateImage is the image a cloneset-in-place disruption changes the
	// container to (needed by it alone: an in-place update changes images).
	UpdateImage string `json:"updateImage,omitempty"`
}

// LoadPlan is the load on every path. Each path's client comes with the path
// (+ka for keep-alive), so there is no keep-alive switch here.
type LoadPlan struct {
	// Rate is requests per second on each path (default 100).
	Rate *int `json:"rate,omitempty" jsonschema:"minimum=1"`
	// Timeout is each request's timeout (default 3s).
	Timeout Duration `json:"timeout,omitempty"`
	// Settle is how long the load goes on after the disruption finished
	// (default 5s).
	Settle Duration `json:"settle,omitempty"`
}

// Duration is a Go duration string such as 3s or 1m30s.
type Duration string

// Parse returns the duration (0 when unset).
func (d Duration) Parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it as 3s, 500ms or 1m30s", string(d))
	}
	return v, nil
}
