package runner

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/apimachinery/pkg/util/intstr"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/suites"
)

// deployPhase creates the workload in the namespace — the fixture with the
// scenario's profile, or the user's app — and the harness's own ways in to
// its pods for the paths the scenario loads: a NodePort Service, a headless
// Service, an Ingress and an HTTPRoute.
type deployPhase struct{}

func (deployPhase) Execute(ctx context.Context, st *State) error {
	rt, s := st.rt, st.sc
	if s.Uses(suites.PathIngress, suites.PathGateway) && rt.Ingress == nil {
		return fmt.Errorf("runner: the ingress and gateway paths need an ingress controller; none is installed")
	}
	var objs []runtime.Object
	var access fixtures.Access
	if s.App == nil {
		opts := fixtures.Options{Namespace: st.ns, Image: rt.Images.Fixture, PDBMaxUnavailable: 1, Headless: s.Uses(suites.PathHeadless)}
		if s.PDB != nil {
			opts.PDBMaxUnavailable, opts.PDBBlocks = s.PDB.MaxUnavailable, s.PDB.MaxUnavailable == 0
		}
		st.ref = fixtures.Workload(s.Workload, st.ns, opts.Name)
		st.routeHost = opts.RouteHost()
		var err error
		if objs, err = fixtures.Render(s.Workload, s.Profile, opts); err != nil {
			return err
		}
		access = fixtures.Access{Namespace: st.ns, Name: st.ref.Name, Labels: st.ref.Selector, Selector: st.ref.Selector,
			Service: st.ref.Service, Port: st.ref.Port, TargetPort: intstr.FromInt32(fixtures.Port)}
		st.podPort = fixtures.Port
	} else {
		var err error
		if objs, access, err = appObjects(st); err != nil {
			return err
		}
		access.Headless = s.Uses(suites.PathHeadless)
	}
	access.Host = st.routeHost
	if s.Uses(suites.PathNodePort) {
		if rt.NodeAddress != "" {
			access.NodePortAuto = true
		} else {
			access.NodePort = rt.NodePort
		}
	}
	if s.Uses(suites.PathIngress) {
		access.IngressClass = rt.Ingress.IngressClass()
	}
	if s.Uses(suites.PathGateway) {
		access.Gateway = rt.Ingress.Gateway()
	}
	objs = append(objs, access.Objects()...)
	st.accessName = access.Name
	if err := rt.create(ctx, objs); err != nil {
		return err
	}
	st.env = chaos.Env{Client: rt.Client, Dynamic: rt.Dynamic, Log: st.log, NodeExec: rt.NodeExec, NodeFreeze: rt.NodeFreeze,
		Images: rt.Images.Variants, Target: st.ref}
	if access.NodePortAuto {
		svc, err := rt.Client.CoreV1().Services(st.ns).Get(ctx, fixtures.NodePortService(access.Name), metav1.GetOptions{})
		if err != nil || len(svc.Spec.Ports) == 0 {
			return fmt.Errorf("runner: the NodePort Service's allocated port: %v", err)
		}
		st.nodePort = fmt.Sprintf("http://%s:%d", rt.NodeAddress, svc.Spec.Ports[0].NodePort)
	}
	return nil
}

// create creates each object, in order, through the dynamic client.
func (rt Runtime) create(ctx context.Context, objs []runtime.Object) error {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(rt.Client.Discovery()))
	for _, o := range objs {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		u := &unstructured.Unstructured{Object: raw}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("runner: %s is not served by this cluster (is its CRD installed?): %w", gvk, err)
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			return fmt.Errorf("runner: %s %s is cluster-scoped: a scenario creates objects only in its own namespace", gvk.Kind, u.GetName())
		}
		err = kind.RetryWhilePortAllocated(ctx, func() error {
			_, err := rt.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{FieldManager: "zerodrop"})
			return err
		})
		if err != nil {
			return fmt.Errorf("runner: create %s %s: %w", gvk.Kind, u.GetName(), err)
		}
	}
	return nil
}
