package scenariofile

import (
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// applyOrder returns copies of the objects in the order they are created:
// what pods use first (service accounts, RBAC, config, volumes), then
// Services, budgets and other objects, then workloads, and the controller
// under test last. Within a rank the file's order stays. A pod created
// before its ConfigMap or ServiceAccount waits in a back-off and comes up
// late, and a controller started before its PodDisruptionBudget is
// unprotected meanwhile; Helm installs in the same order for the same reasons.
func applyOrder(ms []manifest, ctl *controller) []*unstructured.Unstructured {
	rank := func(m manifest) int {
		if m.obj.GetKind() == string(ctl.kind) && m.obj.GetName() == ctl.name {
			return 4
		}
		if r, ok := kindRank[m.obj.GetKind()]; ok {
			return r
		}
		return 2
	}
	sorted := make([]manifest, len(ms))
	copy(sorted, ms)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	out := make([]*unstructured.Unstructured, len(sorted))
	for i, m := range sorted {
		out[i] = m.obj.DeepCopy()
	}
	return out
}

// kindRank: 0 what pods need to start, 1 what routes to or guards them,
// 3 workloads; every other kind 2.
var kindRank = map[string]int{
	"ServiceAccount": 0, "Secret": 0, "ConfigMap": 0, "PersistentVolumeClaim": 0,
	"Role": 0, "RoleBinding": 0, "NetworkPolicy": 0, "ResourceQuota": 0, "LimitRange": 0,
	"Service": 1, "PodDisruptionBudget": 1,
	"Deployment": 3, "StatefulSet": 3, "CloneSet": 3, "DaemonSet": 3, "ReplicaSet": 3,
	"Pod": 3, "Job": 3, "CronJob": 3, "HorizontalPodAutoscaler": 3,
}
