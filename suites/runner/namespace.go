package runner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/zerodrop/zerodrop/kind/addons/kruise"
	"github.com/zerodrop/zerodrop/workload"
)

// ScenarioLabel marks the namespaces zerodrop creates for its scenarios.
const ScenarioLabel = "zerodrop.dev/scenario"

// namespacePhase creates the scenario's own namespace: everything it
// deploys lives there and goes with it.
type namespacePhase struct{}

func (namespacePhase) Execute(ctx context.Context, st *State) error {
	labels := map[string]string{ScenarioLabel: "true"}
	if st.sc.Workload == workload.CloneSet || st.sc.UsesSidecarSet() {
		labels[kruise.NamespaceLabel] = "enabled" // OpenKruise's pod webhooks serve this namespace
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: st.ns, Labels: labels}}
	created, err := st.rt.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("runner: create namespace: %w", err)
	}
	st.nsUID = created.UID
	return nil
}
