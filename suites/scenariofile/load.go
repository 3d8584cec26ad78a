package scenariofile

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// app is what Load read and checked beside a valid file.
type app struct {
	objects     []*unstructured.Unstructured // in apply order
	ctl         *controller
	images      map[string]string
	disruptions []suites.DisruptionKind
	paths       []suites.Path
	plan        load.Plan
	settle      time.Duration
}

// Load reads the scenario file at path, the manifests and image archives it
// names, and checks everything that can be checked without a cluster. A
// file with problems gives an *Invalid that lists every one of them.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario file: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load of a file's content: path names it in messages, and its
// directory is where the file's relative paths start.
func Parse(data []byte, path string) (*File, error) {
	var p problems
	f := &File{}
	if !decode(data, f, &p) {
		// nothing of the file is known: every check would fail for it
		return nil, p.err(path)
	}
	a := check(f, filepath.Dir(path), &p)
	if err := p.err(path); err != nil {
		return nil, err
	}
	f.app = a
	return f, nil
}

// check checks the decoded file and everything it names.
func check(f *File, dir string, p *problems) *app {
	switch {
	case f.APIVersion == "":
		p.addf("apiVersion", " is missing: use %s", APIVersion)
	case f.APIVersion != APIVersion:
		p.addf("apiVersion", " %q: use %s", f.APIVersion, APIVersion)
	}
	switch {
	case f.Kind == "":
		p.addf("kind", " is missing: use %s", Kind)
	case f.Kind != Kind:
		p.addf("kind", " %q: use %s", f.Kind, Kind)
	}
	switch n := f.Metadata.Name; {
	case n == "":
		p.addf("metadata.name", " is empty: name the workload (a DNS label such as checkout): reports and scenario IDs carry it")
	case len(validation.IsDNS1123Label(n)) > 0:
		p.addf("metadata.name", " %q: use a DNS label: at most 63 lower-case letters, digits and -, starting and ending with a letter or digit", n)
	}
	s := f.Spec
	ms, complete := readManifests(s.Manifests, dir, p)
	a := &app{images: readImages(s.Images, dir, p)}
	a.ctl = findController(s.Controller, ms, complete, p)
	findService(s.Target, ms, complete, a.ctl, p)
	a.disruptions = checkDisruptions(s, a.ctl, p)
	a.paths = checkPaths(s.Paths, p)
	a.plan, a.settle = checkLoad(s.Load, p)
	checkExpect(s, p)
	checkPulls(s.Images, a.images, ms, p)
	if a.ctl == nil {
		return nil
	}
	a.objects = applyOrder(ms, a.ctl)
	return a
}

// checkDisruptions parses spec.disruptions and checks that each fits the controller.
func checkDisruptions(s Spec, ctl *controller, p *problems) []suites.DisruptionKind {
	if len(s.Disruptions) == 0 {
		p.addf("spec.disruptions", " is empty: give at least one of %s", disruptionNames())
		return nil
	}
	var out []suites.DisruptionKind
	for i, d := range s.Disruptions {
		field := fmt.Sprintf("spec.disruptions[%d]", i)
		k, err := suites.ParseDisruption(string(d))
		if err != nil {
			p.addf(field, ": %v", err)
			continue
		}
		if slices.Contains(out, k) {
			p.addf(field, " %q: listed twice: keep one", d)
			continue
		}
		if why := k.FixtureOnly(); why != "" {
			p.addf(field, " %q: needs zerodrop's own fixture: %s; use one of %s", d, why, disruptionNames())
			continue
		}
		out = append(out, k)
		if k == suites.RainbowSwitch {
			p.addf(field, " %q: a rainbow switch needs the fixture, which the runner deploys as its first colour; a scenario file's manifests are applied as they are: use another disruption", d)
			continue
		}
		if ctl == nil {
			continue
		}
		if err := k.Fits(ctl.kind); err != nil {
			p.addf(field, " %q: %v", d, err)
			continue
		}
		if _, err := k.Build(ctl.replicas); err != nil {
			p.addf(field, " %q: %v: raise %s %s's spec.replicas", d, err, ctl.kind, ctl.name)
		}
		if k == suites.CloneSetInPlace && s.Controller.UpdateImage == "" {
			p.addf("spec.controller.updateImage", " is missing: %s changes the container's image in place, to this one", k)
		}
		if rolls(k) && ctl.spec.UpdateStrategy != nil && ctl.spec.UpdateStrategy.Type == "OnDelete" {
			p.addf(field, " %q: %s %s's updateStrategy is OnDelete: a new pod template never replaces its pods; use RollingUpdate", d, ctl.kind, ctl.name)
		}
		if k == suites.PausedRollout && ctl.spec.Strategy != nil && ctl.spec.Strategy.Type == "Recreate" {
			p.addf(field, " %q: Deployment %s's strategy is Recreate: a rollout cannot pause after one new replica", d, ctl.name)
		}
	}
	return out
}

// rolls reports whether a disruption changes the pod template and waits for the controller to replace the pods.
func rolls(k suites.DisruptionKind) bool {
	return k == suites.RollingUpdate || k == suites.RolloutRestart || k == suites.PartitionRoll
}

func disruptionNames() string {
	var names []string
	for _, d := range FileDisruptions() {
		names = append(names, string(d))
	}
	return strings.Join(names, ", ")
}

// FileDisruptions are the disruptions a scenario file may name: those a
// user's own workload can take.
func FileDisruptions() []suites.DisruptionKind {
	var out []suites.DisruptionKind
	for _, d := range suites.DisruptionKinds {
		if d.FixtureOnly() == "" {
			out = append(out, d)
		}
	}
	return out
}

// DefaultPaths are what a file without spec.paths loads: the NodePort from
// the host and the ClusterIP from inside the cluster, each with both clients.
var DefaultPaths = suites.WithKeepAliveToo(suites.PathNodePort, suites.PathClusterIP)

// checkPaths parses spec.paths (default: DefaultPaths).
func checkPaths(paths []suites.Path, p *problems) []suites.Path {
	if len(paths) == 0 {
		return DefaultPaths
	}
	var out []suites.Path
	for i, s := range paths {
		field := fmt.Sprintf("spec.paths[%d]", i)
		path, err := suites.ParsePath(string(s))
		if err != nil {
			p.addf(field, ": %v", err)
			continue
		}
		if path.Stream() != "" {
			// the stream client reads the fixture's protocol: a sequence
			// number and the pod in every message, a marked polite close
			p.addf(field, " %q: streams are loaded with the fixture's stream protocol, which a user's app does not speak: use %s or %s", s, path.Base(), path.WithKeepAlive())
			continue
		}
		if slices.Contains(out, path) {
			p.addf(field, " %q: listed twice: keep one", s)
			continue
		}
		out = append(out, path)
	}
	return out
}

// maxSettle bounds spec.load.settle: load beyond it shows nothing a
// disruption did.
const maxSettle = 10 * time.Minute

// checkLoad makes the load plan (suites.GatingPlan, with the file's rate
// and timeout) and the settle time, and checks them with the load engine's
// own bounds.
func checkLoad(l LoadPlan, p *problems) (load.Plan, time.Duration) {
	plan := suites.GatingPlan
	if l.Rate != nil {
		plan.Rate = *l.Rate
	}
	if l.Timeout != "" {
		d, err := l.Timeout.Parse()
		if err != nil {
			p.addf("spec.load.timeout", ": %v", err)
		} else {
			plan.Timeout = d
		}
	}
	// Plan.Validate knows what the engine holds; its target checks are the
	// runner's business, so it is given one well-formed target
	checked := plan.Defaults()
	checked.Timeout = plan.Timeout
	if err := checked.Validate([]load.Target{{URL: "http://target.invalid/", Path: "any"}}); err != nil {
		for _, e := range unjoin(err) {
			p.addf("spec."+e.Error(), "")
		}
	}
	settle, err := l.Settle.Parse()
	switch {
	case err != nil:
		p.addf("spec.load.settle", ": %v", err)
	case settle < 0:
		p.addf("spec.load.settle", " %s: use 0 or a positive duration such as 10s", l.Settle)
	case settle > maxSettle:
		p.addf("spec.load.settle", " %s: use up to %s", l.Settle, maxSettle)
	}
	return plan, settle
}

// checkExpect checks spec.expect and spec.expectKeepAlive.
func checkExpect(s Spec, p *problems) {
	switch s.Expect {
	case "":
		p.addf("spec.expect", " is missing: use pass (the workload must drop no request) or fail (it is known to drop requests)")
	case outcome.ExpectPass, outcome.ExpectFail, outcome.ExpectRisk:
	default:
		p.addf("spec.expect", " %q: use pass, fail or at-risk", s.Expect)
	}
	switch s.ExpectKeepAlive {
	case "", outcome.ExpectPass, outcome.ExpectFail, outcome.ExpectRisk:
	default:
		p.addf("spec.expectKeepAlive", " %q: use pass, fail or at-risk, or leave it out to expect what spec.expect says", s.ExpectKeepAlive)
	}
}

// checkPulls reports containers that would pull an image the file loads
// from an archive: a kind node has it, but the kubelet asks a registry anyway.
func checkPulls(entries []string, images map[string]string, ms []manifest, p *problems) {
	for _, pt := range podTemplates(ms) {
		for _, c := range pt.containers {
			for tag, archive := range images {
				if !sameImage(c.Image, tag) || !pullsAlways(c.Image, string(c.ImagePullPolicy)) {
					continue
				}
				why := "imagePullPolicy Always"
				if c.ImagePullPolicy == "" {
					why = "no imagePullPolicy, which for the latest tag means Always,"
				}
				p.add(fmt.Errorf("%s: %s %s: container %s: image %s comes from %s, but %s would pull it from a registry: set imagePullPolicy: IfNotPresent",
					pt.m.at, pt.m.obj.GetKind(), pt.m.obj.GetName(), c.Name, c.Image, archiveName(entries, archive), why))
				break
			}
		}
	}
}

// archiveName is how the file names an archive.
func archiveName(entries []string, archive string) string {
	for _, e := range entries {
		if filepath.Base(e) == filepath.Base(archive) {
			return e
		}
	}
	return archive
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
