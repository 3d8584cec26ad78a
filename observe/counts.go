package observe

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/fixtures/server"
	"github.com/zerodrop/zerodrop/workload"
)

// ServerCounts gathers each app container instance's own count of the
// requests it served, per path label (a pod restarted in place has one per
// run): finished instances from their last lifecycle report, running ones
// from the app's /stats through the API server's pod proxy. Instances the
// timeline saw running that could not report are returned as missing. Only
// an app that counts (the fixture) has counts; for others both are empty.
func ServerCounts(ctx context.Context, cs kubernetes.Interface, ref workload.Ref, tl *Timeline) (map[string]map[string]int64, []string) {
	if !ref.AppEvents {
		return nil, nil
	}
	perInstance := map[string]map[string]int64{}
	for key, e := range tl.AppReports() {
		perInstance[key] = e.Counts
	}
	live, err := cs.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ref.Selector).String()})
	if err == nil {
		for _, p := range live.Items {
			key := p.Name
			for _, c := range p.Status.ContainerStatuses {
				if c.Name == ref.Container {
					key = InstanceKey(p.Name, c.ContainerID)
				}
			}
			if _, done := perInstance[key]; done {
				continue
			}
			raw, err := cs.CoreV1().Pods(ref.Namespace).ProxyGet("http", p.Name, fmt.Sprint(ref.Port), "/stats", nil).DoRaw(ctx)
			if err != nil {
				continue
			}
			var st server.Stats
			if json.Unmarshal(raw, &st) == nil {
				perInstance[key] = st.Counts
			}
		}
	}
	var missing []string
	for _, key := range tl.Instances() {
		if _, ok := perInstance[key]; !ok {
			missing = append(missing, key)
		}
	}
	for _, counts := range perInstance {
		delete(counts, "unlabelled") // probes and /stats itself
	}
	return perInstance, missing
}

// RunningInstances lists the app container instances running now, by
// InstanceKey: their counts come from /stats, not from a final report.
func RunningInstances(ctx context.Context, cs kubernetes.Interface, ref workload.Ref) (map[string]bool, error) {
	live, err := cs.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ref.Selector).String()})
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	out := map[string]bool{}
	for _, p := range live.Items {
		for _, c := range p.Status.ContainerStatuses {
			if c.Name == ref.Container && c.State.Running != nil {
				out[InstanceKey(p.Name, c.ContainerID)] = true
			}
		}
	}
	return out, nil
}
