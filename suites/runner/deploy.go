package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/internal/kube"

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
	"github.com/zerodrop/zerodrop/workload"
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
		var err error
		if objs, access, st.ref, err = fixtureObjects(s, st.ns, rt.Images.Fixture); err != nil {
			return err
		}
		st.routeHost = access.Host
		st.podPort = fixtures.Port
	} else {
		if _, ok := s.Disruption.(chaos.RainbowSwitch); ok {
			return fmt.Errorf("runner: a rainbow switch needs the fixture, deployed as its first colour; an app's own manifests are deployed as they are")
		}
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
	if s.App == nil && s.UsesSidecarSet() {
		// before the pods: OpenKruise injects the proxy when each is created
		if err := createSidecarSet(ctx, st); err != nil {
			return err
		}
	}
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

// fixtureObjects renders the fixture with the scenario's profile, and its
// access objects, to be completed with the paths' entry points, and the
// workload. For a rainbow switch it is the first colour: the Deployment
// <name>-<colour> is the workload's controller, every Service selects that
// colour, and the workload's selector every colour's pods.
func fixtureObjects(s suites.Scenario, ns, image string) ([]runtime.Object, fixtures.Access, workload.Ref, error) {
	opts := fixtures.Options{Namespace: ns, Image: image, PDBMaxUnavailable: 1, Headless: s.Uses(suites.PathHeadless)}
	if s.PDB != nil {
		opts.PDBMaxUnavailable, opts.PDBBlocks = s.PDB.MaxUnavailable, s.PDB.MaxUnavailable == 0
	}
	if r, ok := s.Disruption.(chaos.RainbowSwitch); ok {
		// the switch deploys the next colour beside it
		opts.Colour = r.WithDefaults().From
	}
	objs, err := fixtures.Render(s.Workload, s.Profile, opts)
	if err != nil {
		return nil, fixtures.Access{}, workload.Ref{}, err
	}
	ref := opts.Workload(s.Workload)
	return objs, fixtures.Access{Namespace: ns, Name: ref.Service, Labels: ref.Selector, Selector: opts.PodSelector(),
		Service: ref.Service, Port: ref.Port, TargetPort: intstr.FromInt32(fixtures.Port), Host: opts.RouteHost()}, ref, nil
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

// createSidecarSet creates the OpenKruise SidecarSet that injects the
// profile's proxy, owned by the scenario's namespace, and waits until
// OpenKruise has seen it: its pod webhook injects only the SidecarSets its
// cache holds when a pod is created.
func createSidecarSet(ctx context.Context, st *State) error {
	u, err := fixtures.RenderSidecarSet(st.sc.Profile, fixtures.Options{Namespace: st.ns, Image: st.rt.Images.Fixture}, st.nsUID)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	r := st.rt.Dynamic.Resource(chaos.SidecarSetResource)
	if _, err := r.Create(ctx, u, metav1.CreateOptions{FieldManager: "zerodrop"}); err != nil {
		return fmt.Errorf("runner: create SidecarSet %s: %w", u.GetName(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return kube.Poll(ctx, 250*time.Millisecond, "wait for OpenKruise to observe SidecarSet "+u.GetName(), func(ctx context.Context) (string, error) {
		got, err := r.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if seen, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration"); seen < got.GetGeneration() {
			return fmt.Sprintf("observedGeneration %d < generation %d", seen, got.GetGeneration()), nil
		}
		return "", nil
	})
}
