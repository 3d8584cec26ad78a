package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/fixtures"
)

// ControllerNamespace is where the ingress controller runs; its log is
// collected for a scenario not as expected.
const ControllerNamespace = "zerodrop-system"

// collectPhase writes the namespace's Events, pods and logs when the
// verdict is not as expected or the run failed: quiet when passing,
// detailed when failing.
type collectPhase struct{}

func (collectPhase) Execute(_ context.Context, st *State) error {
	if st.out.Verdict.AsExpected && st.stopped {
		return nil
	}
	if st.stopTimeline != nil {
		st.stopTimeline()
	}
	if st.timelineFile != nil {
		st.timelineFile.Close()
	}
	rt, ns, dir := st.rt, st.ns, st.dir
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if evs, err := rt.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		writeJSON(filepath.Join(dir, "events.json"), evs.Items)
	}
	if ps, err := rt.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		writeJSON(filepath.Join(dir, "pods.json"), ps.Items)
		for _, p := range ps.Items {
			if raw, err := rt.Client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx); err == nil {
				os.WriteFile(filepath.Join(dir, "pod-"+p.Name+".log"), raw, 0o644)
			}
		}
	}
	// the ingress controller's log (its access log names the backend of every failed request)
	if rt.Ingress != nil {
		if ps, err := rt.Client.CoreV1().Pods(ControllerNamespace).List(ctx, metav1.ListOptions{}); err == nil {
			for _, p := range ps.Items {
				if raw, err := rt.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{SinceSeconds: ptr.To[int64](600)}).DoRaw(ctx); err == nil {
					os.WriteFile(filepath.Join(dir, "controller-"+p.Name+".log"), raw, 0o644)
				}
			}
		}
	}
	st.log.Debug("collected namespace state", "dir", dir)
	return nil
}

// cleanupPhase deletes the namespace (unless it is kept for a scenario not
// as expected), releasing the NodePort at once: the next scenario needs it.
type cleanupPhase struct{}

func (cleanupPhase) Execute(_ context.Context, st *State) error {
	if st.stopTimeline != nil {
		st.stopTimeline()
	}
	if st.timelineFile != nil {
		st.timelineFile.Close()
	}
	if st.rt.KeepOnFailure && !st.out.Verdict.AsExpected {
		st.log.Info("namespace kept", "namespace", st.ns)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svcs := st.rt.Client.CoreV1().Services(st.ns)
	name := fixtures.NodePortService(st.accessName)
	if err := svcs.Delete(ctx, name, metav1.DeleteOptions{}); err == nil {
		_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := svcs.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	if err := st.rt.Client.CoreV1().Namespaces().Delete(ctx, st.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		st.log.Warn("delete namespace", "namespace", st.ns, "err", err)
	}
	return nil
}

func writeJSON(path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		os.WriteFile(path, b, 0o644)
	}
}
