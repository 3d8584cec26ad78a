package runner

import (
	"fmt"

	"github.com/zerodrop/zerodrop/workload"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/zerodrop/zerodrop/fixtures"
)

// appAccessName prefixes the harness's own objects beside a user's app.
const appAccessName = "zerodrop"

// appObjects are a user's app's manifests, placed in the scenario's
// namespace, and the access objects that reach its pods through its own
// Service's target port.
func appObjects(st *State) ([]runtime.Object, fixtures.Access, error) {
	app := st.sc.App
	st.ref = app.Target
	st.ref.Namespace = st.ns
	st.routeHost = fixtures.Options{Namespace: st.ns, Name: appAccessName}.RouteHost()
	var objs []runtime.Object
	var svc *corev1.Service
	for _, o := range app.Objects {
		u := o.DeepCopy()
		u.SetNamespace(st.ns)
		objs = append(objs, u)
		if u.GetKind() == "Service" && u.GetName() == app.Target.Service {
			svc = &corev1.Service{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, svc); err != nil {
				return nil, fixtures.Access{}, fmt.Errorf("runner: Service %s: %w", u.GetName(), err)
			}
		}
	}
	if svc == nil {
		return nil, fixtures.Access{}, fmt.Errorf("runner: the app's manifests hold no Service %q", app.Target.Service)
	}
	target := intstr.FromInt32(app.Target.Port)
	for _, p := range svc.Spec.Ports {
		if p.Port == app.Target.Port {
			target = p.TargetPort
			if target.IntVal == 0 && target.StrVal == "" {
				target = intstr.FromInt32(p.Port)
			}
		}
	}
	st.podPort = app.Target.Port
	switch {
	case target.Type == intstr.Int:
		st.podPort = target.IntVal
	default:
		if n := namedPort(app.Objects, app.Target, target.StrVal); n != 0 {
			st.podPort = n
		}
	}
	labels := map[string]string{"app.kubernetes.io/managed-by": "zerodrop"}
	return objs, fixtures.Access{Namespace: st.ns, Name: appAccessName, Labels: labels, Selector: app.Target.Selector,
		Service: app.Target.Service, Port: app.Target.Port, TargetPort: target}, nil
}

// namedPort resolves a named container port in the controller's pod
// template (a Service's targetPort may name one).
func namedPort(objs []*unstructured.Unstructured, ref workload.Ref, name string) int32 {
	for _, o := range objs {
		if o.GetKind() != string(ref.Kind) || o.GetName() != ref.Name {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			ports, _, _ := unstructured.NestedSlice(c.(map[string]any), "ports")
			for _, p := range ports {
				pm, _ := p.(map[string]any)
				if pm["name"] == name {
					if n, ok := pm["containerPort"].(int64); ok {
						return int32(n)
					}
				}
			}
		}
	}
	return 0
}
