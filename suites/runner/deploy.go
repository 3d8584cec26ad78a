package runner

import (
	"context"
	"fmt"

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

// deployPhase renders the fixture with the scenario's profile and creates
// it in the namespace: the workload, its Services, a PodDisruptionBudget,
// and the Ingress and HTTPRoute when those paths are loaded.
type deployPhase struct{}

func (deployPhase) Execute(ctx context.Context, st *State) error {
	rt, s := st.rt, st.sc
	opts := fixtures.Options{Namespace: st.ns, Image: rt.Images.Fixture, NodePort: rt.NodePort, PDBMaxUnavailable: 1}
	if s.Uses(suites.PathIngress, suites.PathGateway) {
		if rt.Ingress == nil {
			return fmt.Errorf("runner: the ingress and gateway paths need an ingress controller; none is installed")
		}
		if s.Uses(suites.PathIngress) {
			opts.IngressClass = rt.Ingress.IngressClass()
		}
		if s.Uses(suites.PathGateway) {
			opts.Gateway = rt.Ingress.Gateway()
		}
	}
	objs, err := fixtures.Render(s.Workload, s.Profile, opts)
	if err != nil {
		return err
	}
	if err := rt.create(ctx, objs); err != nil {
		return err
	}
	st.ref = fixtures.Workload(s.Workload, st.ns, opts.Name)
	st.env = chaos.Env{Client: rt.Client, Dynamic: rt.Dynamic, Log: st.log, NodeExec: rt.NodeExec, NodeFreeze: rt.NodeFreeze,
		Images: rt.Images.Variants, Target: st.ref}
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
