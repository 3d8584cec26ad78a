package scenariofile

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/zerodrop/zerodrop/workload"
)

// controller is the workload controller of a scenario file, read from its manifest.
type controller struct {
	kind     workload.Kind
	name     string
	at       string
	replicas int32
	selector map[string]string
	spec     controllerSpec
	// container is the app container of the pod template.
	container corev1.Container
}

// controllerSpec is what zerodrop reads of a controller's spec: the fields
// Deployments, StatefulSets and CloneSets share, and the strategy of each.
type controllerSpec struct {
	Replicas        *int32                 `json:"replicas,omitempty"`
	Selector        *metav1.LabelSelector  `json:"selector,omitempty"`
	Template        corev1.PodTemplateSpec `json:"template"`
	MinReadySeconds int32                  `json:"minReadySeconds,omitempty"`
	// Strategy and ProgressDeadlineSeconds are a Deployment's.
	Strategy                *deploymentStrategy `json:"strategy,omitempty"`
	ProgressDeadlineSeconds *int32              `json:"progressDeadlineSeconds,omitempty"`
	// UpdateStrategy is a StatefulSet's or a CloneSet's.
	UpdateStrategy *updateStrategy `json:"updateStrategy,omitempty"`
}

type deploymentStrategy struct {
	Type          string `json:"type,omitempty"`
	RollingUpdate *struct {
		MaxSurge       *intstr.IntOrString `json:"maxSurge,omitempty"`
		MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	} `json:"rollingUpdate,omitempty"`
}

// updateStrategy holds a StatefulSet's (type, rollingUpdate) and a
// CloneSet's (maxSurge, maxUnavailable, inPlaceUpdateStrategy) fields.
type updateStrategy struct {
	Type          string `json:"type,omitempty"`
	RollingUpdate *struct {
		MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	} `json:"rollingUpdate,omitempty"`
	MaxSurge              *intstr.IntOrString `json:"maxSurge,omitempty"`
	MaxUnavailable        *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	InPlaceUpdateStrategy *struct {
		GracePeriodSeconds int32 `json:"gracePeriodSeconds,omitempty"`
	} `json:"inPlaceUpdateStrategy,omitempty"`
}

// apiVersions are the API versions zerodrop's disruptions drive each kind through.
var apiVersions = map[workload.Kind]string{
	workload.Deployment:  "apps/v1",
	workload.StatefulSet: "apps/v1",
	workload.CloneSet:    "apps.kruise.io/v1alpha1",
}

// findController finds spec.controller among the manifests and reads it.
// Not finding it is a problem only when every manifest was read (complete).
func findController(c Controller, ms []manifest, complete bool, p *problems) *controller {
	var kind workload.Kind
	switch k, err := workload.ParseKind(string(c.Kind)); {
	case c.Kind == "":
		p.addf("spec.controller.kind", " is missing: use one of %s", strings.Join(workload.KindNames(), ", "))
	case err != nil:
		p.addf("spec.controller.kind", ": %v", err)
	default:
		kind = k
	}
	if c.Name == "" {
		p.addf("spec.controller.name", " is missing: name the controller to disrupt")
	}
	if kind == "" || c.Name == "" {
		return nil
	}
	var m *manifest
	var others []string
	for i := range ms {
		if ms[i].obj.GetKind() != string(kind) {
			continue
		}
		if ms[i].obj.GetName() == c.Name {
			m = &ms[i]
			break
		}
		others = append(others, ms[i].obj.GetName())
	}
	if m == nil && !complete {
		return nil
	}
	if m == nil {
		p.addf("spec.controller.name", " %q: no %s of that name among the manifests (%s)", c.Name, kind, there(kind, others))
		return nil
	}
	if v := m.obj.GetAPIVersion(); v != apiVersions[kind] {
		p.add(fmt.Errorf("%s: %s %s: apiVersion %s: a %s is %s", m.at, kind, c.Name, v, kind, apiVersions[kind]))
		return nil
	}
	ctl := &controller{kind: kind, name: c.Name, at: m.at}
	spec, _ := m.obj.Object["spec"].(map[string]any)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &ctl.spec); err != nil {
		p.add(fmt.Errorf("%s: %s %s: its spec does not decode: %v", m.at, kind, c.Name, err))
		return nil
	}
	what := fmt.Sprintf("%s: %s %s", m.at, kind, c.Name)
	ctl.replicas = 1
	if r := ctl.spec.Replicas; r != nil {
		ctl.replicas = *r
	}
	if ctl.replicas < 1 {
		p.add(fmt.Errorf("%s: spec.replicas %d: the disruptions need running pods: use at least 1 (2 or more to drop nothing)", what, ctl.replicas))
	}
	tmplLabels := ctl.spec.Template.Labels
	if sel := ctl.spec.Selector; sel == nil || len(sel.MatchLabels) == 0 {
		p.add(fmt.Errorf("%s: spec.selector.matchLabels is empty: give the labels of its pods there (zerodrop finds them by it)", what))
	} else {
		ctl.selector = sel.MatchLabels
		if s, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			p.add(fmt.Errorf("%s: spec.selector: %v", what, err))
		} else if !s.Matches(labels.Set(tmplLabels)) {
			p.add(fmt.Errorf("%s: spec.selector %s does not select its pod template's labels {%s}: give spec.template.metadata.labels every label the selector asks for", what, s, labels.Set(tmplLabels)))
		}
	}
	cs := ctl.spec.Template.Spec.Containers
	if len(cs) == 0 {
		p.add(fmt.Errorf("%s: its pod template has no containers", what))
		return nil
	}
	ctl.container = cs[0]
	if c.Container != "" {
		i := slices.IndexFunc(cs, func(x corev1.Container) bool { return x.Name == c.Container })
		if i < 0 {
			// the checks of the controller as a whole still hold
			p.addf("spec.controller.container", " %q: %s %s's pod template has no such container (it has %s)", c.Container, kind, c.Name, containerNames(cs))
		} else {
			ctl.container = cs[i]
		}
	}
	return ctl
}

// findService finds spec.target and checks that it reaches the controller's
// pods. Not finding it is a problem only when every manifest was read (complete).
func findService(t Target, ms []manifest, complete bool, ctl *controller, p *problems) {
	if t.Service == "" {
		p.addf("spec.target.service", " is missing: name the ClusterIP Service in front of the controller's pods")
	}
	if t.Path != "" && !strings.HasPrefix(t.Path, "/") {
		p.addf("spec.target.path", " %q: start it with /", t.Path)
	}
	if t.ExpectStatus != 0 && (t.ExpectStatus < 100 || t.ExpectStatus > 599) {
		p.addf("spec.target.expectStatus", " %d: use an HTTP status, 100 to 599, or leave it out to count any 2xx or 3xx as a success", t.ExpectStatus)
	}
	if t.Service == "" {
		return
	}
	var m *manifest
	var others []string
	for i := range ms {
		if ms[i].obj.GetKind() != "Service" || ms[i].obj.GetAPIVersion() != "v1" {
			continue
		}
		if ms[i].obj.GetName() == t.Service {
			m = &ms[i]
			break
		}
		others = append(others, ms[i].obj.GetName())
	}
	if m == nil && !complete {
		return
	}
	if m == nil {
		p.addf("spec.target.service", " %q: no Service of that name among the manifests (%s)", t.Service, there("Service", others))
		return
	}
	var svc corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, &svc); err != nil {
		p.add(fmt.Errorf("%s: Service %s does not decode: %v", m.at, t.Service, err))
		return
	}
	what := fmt.Sprintf("%s: Service %s", m.at, t.Service)
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		p.add(fmt.Errorf("%s is an ExternalName Service: name a ClusterIP Service with a selector", what))
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		p.add(fmt.Errorf("%s is headless (clusterIP: None): name a Service with a cluster IP (the headless path reaches the pods through CoreDNS by itself)", what))
	case len(svc.Spec.Selector) == 0:
		p.add(fmt.Errorf("%s has no selector: its endpoints would not follow the pods; select the controller's pods", what))
	case ctl != nil && !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(ctl.spec.Template.Labels)):
		p.add(fmt.Errorf("%s: its selector {%s} does not select %s %s's pods {%s}: it would send them no traffic", what,
			labels.Set(svc.Spec.Selector), ctl.kind, ctl.name, labels.Set(ctl.spec.Template.Labels)))
	}
	if len(svc.Spec.Ports) == 0 {
		p.add(fmt.Errorf("%s has no ports", what))
		return
	}
	var ports []string
	var port *corev1.ServicePort
	for i, sp := range svc.Spec.Ports {
		s := fmt.Sprint(sp.Port)
		if sp.Name != "" {
			s += " (" + sp.Name + ")"
		}
		ports = append(ports, s)
		if sp.Port == t.Port {
			port = &svc.Spec.Ports[i]
		}
	}
	switch {
	case t.Port == 0:
		p.addf("spec.target.port", " is missing: give the Service port to load: %s", strings.Join(ports, ", "))
	case port == nil:
		p.addf("spec.target.port", " %d: Service %s has no such port: use %s", t.Port, t.Service, strings.Join(ports, ", "))
	case ctl != nil && port.TargetPort.Type == intstr.String && !hasPortNamed(ctl.spec.Template.Spec.Containers, port.TargetPort.StrVal):
		p.addf("spec.target.port", " %d: Service %s sends it to targetPort %q, which names no container port of %s %s's pod template: name the container's port so, or give the number",
			t.Port, t.Service, port.TargetPort.StrVal, ctl.kind, ctl.name)
	}
}

func hasPortNamed(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// there says which objects of a kind the manifests do hold.
func there[K ~string](kind K, names []string) string {
	if len(names) == 0 {
		return fmt.Sprintf("they hold no %s", kind)
	}
	sort.Strings(names)
	return fmt.Sprintf("%ss there: %s", kind, strings.Join(names, ", "))
}

// podTemplate is the containers (and init containers) of a pod template
// among the manifests, with its object.
type podTemplate struct {
	m          *manifest
	containers []corev1.Container
}

// podTemplates are the pod templates among the manifests, in file order.
func podTemplates(ms []manifest) []podTemplate {
	var out []podTemplate
	for i := range ms {
		path := []string{"spec", "template", "spec"}
		if ms[i].obj.GetKind() == "Pod" {
			path = []string{"spec"}
		}
		var ps corev1.PodSpec
		raw, ok := nested(ms[i].obj.Object, path...)
		if !ok || runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ps) != nil {
			continue
		}
		out = append(out, podTemplate{m: &ms[i], containers: append(slices.Clone(ps.InitContainers), ps.Containers...)})
	}
	return out
}

func nested(obj map[string]any, path ...string) (map[string]any, bool) {
	m := obj
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return maps.Clone(m), true
}
