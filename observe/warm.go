package observe

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/internal/kube"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/workload"
)

// WaitWarm waits until every path answered streak requests in a row and
// every pod of the workload answered on every path: the chaosmonkey "ready"
// point, after which failures are the disruption's. It returns the
// path→pod pairs that never answered (with a nil error: that makes the run
// invalid, not an error) when ctx ends first.
func WaitWarm(ctx context.Context, tr *load.Tracker, cs kubernetes.Interface, ref workload.Ref, paths []string, streak int) ([]string, error) {
	if err := tr.WaitWarm(ctx, paths, streak); err != nil {
		return nil, err
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	sel := labels.SelectorFromSet(ref.Selector).String()
	for {
		ps, err := cs.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, err
		}
		seen := tr.Pods()
		var unreached []string
		for _, p := range ps.Items {
			for _, path := range paths {
				if seen[path][p.Name] == 0 {
					unreached = append(unreached, path+"→"+p.Name)
				}
			}
		}
		if len(unreached) == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			sort.Strings(unreached)
			return unreached, nil
		case <-t.C:
		}
	}
}

// ReadyPods lists the names of the workload's Ready pods that are not
// terminating.
func ReadyPods(ctx context.Context, cs kubernetes.Interface, ref workload.Ref) ([]string, error) {
	ps, err := cs.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(ref.Selector).String()})
	if err != nil {
		return nil, fmt.Errorf("observe: %w", err)
	}
	var out []string
	for i := range ps.Items {
		if p := &ps.Items[i]; p.DeletionTimestamp == nil && kube.PodReady(p) {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ProbePods asks every Ready pod of the workload for path on port directly,
// through the API server's pod proxy, and returns the pods that did not
// answer with a success: for an app that names no pod in its answers, the
// proof that every pod serves before the disruption.
func ProbePods(ctx context.Context, cs kubernetes.Interface, ref workload.Ref, port int32, path string) ([]string, error) {
	pods, err := ReadyPods(ctx, cs, ref)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, p := range pods {
		if _, err := cs.CoreV1().Pods(ref.Namespace).ProxyGet("http", p, fmt.Sprint(port), path, nil).DoRaw(ctx); err != nil {
			failed = append(failed, p+" ("+err.Error()+")")
		}
	}
	return failed, nil
}
