// Package workload names what a scenario disrupts: the controller (kind and
// name), its pods (selector, container, port) and the Service in front of
// them. The fixture is one such workload; a user's own Deployment is another.
// Disruptions act on a Ref, observers watch it, the runner loads its Service.
package workload

import (
	"fmt"
	"strings"
)

// Kind is the workload controller.
type Kind string

const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
	CloneSet    Kind = "CloneSet" // OpenKruise apps.kruise.io/v1alpha1, in-place updates
)

// Kinds lists the controllers zerodrop can disrupt.
var Kinds = []Kind{Deployment, StatefulSet, CloneSet}

// ParseKind accepts a controller kind, case-insensitively.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if strings.EqualFold(s, string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("workload kind %q: use one of %s", s, strings.Join(KindNames(), ", "))
}

// KindNames lists the kinds as strings, for messages.
func KindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

// ColourLabel marks the pods of one colour of a rainbow deployment: one
// Deployment per version, each colour's pods labelled with it, and the
// Services selecting one colour at a time.
const ColourLabel = "zerodrop.dev/colour"

// ColourName is the name of a colour's Deployment: <name>-<colour>.
func ColourName(name, colour string) string { return name + "-" + colour }

// Ref is one workload in one namespace.
type Ref struct {
	Namespace string
	Kind      Kind
	Name      string
	// Container is the app container: its restarts, exit codes and image
	// are what the disruptions change and the observers watch.
	Container string
	// Selector selects the workload's pods (not a load generator beside them).
	Selector map[string]string
	// Service is the ClusterIP Service in front of the pods and Port its port.
	Service string
	Port    int32
	// AppEvents says that the container logs the fixture's lifecycle events
	// (JSON lines: SIGTERM, drain, last request, exit, with counts).
	AppEvents bool
	// Sidecars name containers beside the app (regular or restartable init
	// containers) that log lifecycle events too, such as the fixture's
	// proxy: their events go on the timeline; the app's counts stay the
	// app container's.
	Sidecars []string
	// VersionEnv and VersionLabel are what a version change sets in the pod
	// template besides the image (the fixture reports POD_VERSION in every
	// answer); empty: nothing.
	VersionEnv   string
	VersionLabel string
}

// Validate names the field and the fix.
func (r Ref) Validate() error {
	var problems []string
	if r.Namespace == "" {
		problems = append(problems, "namespace is empty")
	}
	if _, err := ParseKind(string(r.Kind)); err != nil {
		problems = append(problems, err.Error())
	}
	if r.Name == "" {
		problems = append(problems, "name is empty: name the controller to disrupt")
	}
	if r.Container == "" {
		problems = append(problems, "container is empty: name the app container")
	}
	if len(r.Selector) == 0 {
		problems = append(problems, "selector is empty: give the labels of the workload's pods")
	}
	if len(problems) > 0 {
		return fmt.Errorf("workload %s/%s: %s", r.Namespace, r.Name, strings.Join(problems, "; "))
	}
	return nil
}
