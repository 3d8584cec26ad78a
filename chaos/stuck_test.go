package chaos

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/workload"
)

// rolloutMode is what the fake Deployment controller does with a broken version.
type rolloutMode int

const (
	giveUp   rolloutMode = iota // ProgressDeadlineExceeded, no replica of v2 available
	complete                    // v2 becomes available, then its container restarts
	healthy                     // v2 becomes available and stays up: not broken
)

var (
	deploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")
	replicaSetsGVR = appsv1.SchemeGroupVersion.WithResource("replicasets")
	podsGVR        = corev1.SchemeGroupVersion.WithResource("pods")
)

func hashPod(name, hash string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid,
		Labels: map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash}}}
}

func ownedRS(name, hash, rev, version string, available int32) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Labels:          map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash},
		Annotations:     map[string]string{revisionAnnotation: rev},
		OwnerReferences: []metav1.OwnerReference{{UID: "d1", Controller: ptr.To(true), Kind: "Deployment", Name: "web"}}},
		Status: appsv1.ReplicaSetStatus{AvailableReplicas: available}}
	rs.Spec.Template.Labels = map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash}
	if version != "" {
		rs.Spec.Template.Annotations = map[string]string{VersionAnnotation: version}
	}
	return rs
}

// stuckFixture is a Deployment of three v1 pods and a fake controller, run
// at each get of the Deployment, that reacts to a template of v2 as mode
// says and to the rollback by removing v2.
func stuckFixture(t *testing.T, mode rolloutMode) (*fake.Clientset, *[]string) {
	return stuckFixtureFrom(t, mode, 0)
}

// stuckFixtureFrom is stuckFixture whose v1 pods count as available only
// after the Deployment has been looked at unavailableLooks times.
func stuckFixtureFrom(t *testing.T, mode rolloutMode, unavailableLooks int) (*fake.Clientset, *[]string) {
	t.Helper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d1", Annotations: map[string]string{revisionAnnotation: "1"}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), ProgressDeadlineSeconds: ptr.To[int32](20),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}}
	d.Spec.Template.Labels = map[string]string{"app": "web"}
	cs := fake.NewSimpleClientset(d, ownedRS("web-1", "h1", "1", "", 3),
		hashPod("web-1-a", "h1", "a"), hashPod("web-1-b", "h1", "b"), hashPod("web-1-c", "h1", "c"))
	tr := cs.Tracker()
	var patches []string
	looks := 0
	cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patches = append(patches, string(a.(k8stesting.PatchAction).GetPatch()))
		return false, nil, nil
	})
	gets := 0
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := tr.Get(deploymentsGVR, "ns", "web")
		if err != nil {
			return true, nil, err
		}
		d := obj.(*appsv1.Deployment).DeepCopy()
		if gets++; gets <= unavailableLooks {
			// pods Ready, not yet for minReadySeconds
			d.Status.AvailableReplicas = 0
			return true, d, nil
		}
		if d.Spec.Template.Annotations[VersionAnnotation] == "v2" {
			looks++
			d.Annotations[revisionAnnotation] = "2"
			avail := int32(0)
			if mode != giveUp {
				avail = 3
				d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}
			} else {
				d.Status = appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3}
				if looks > 2 {
					d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
						Message: `ReplicaSet "web-2" has timed out progressing.`}}
				}
			}
			_ = tr.Add(ownedRS("web-2", "h2", "2", "v2", avail))
			broken := hashPod("web-2-x", "h2", "x")
			if mode == complete && looks > 2 {
				broken.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "fixture", RestartCount: 1}}
			}
			if err := tr.Add(broken); err != nil {
				_ = tr.Update(podsGVR, broken, "ns")
			}
		} else if d.Annotations[revisionAnnotation] == "2" {
			// the rollback: revision 1's template is current again
			d.Annotations[revisionAnnotation] = "3"
			d.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}
			_ = tr.Delete(podsGVR, "ns", "web-2-x")
		}
		if err := tr.Update(deploymentsGVR, d, "ns"); err != nil {
			return true, nil, err
		}
		return true, d, nil
	})
	return cs, &patches
}

// bounded: a disruption that misses its end would wait for the fake
// controller for ever (long enough for the 20 s progress deadline and
// the minute of margin Run asks for)
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func stuckEnv(cs *fake.Clientset, verified *[]string) Env {
	return Env{Client: cs, Verified: func(s string) { *verified = append(*verified, s) },
		Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web", Container: "fixture", VersionEnv: "POD_VERSION",
			Selector: map[string]string{"app": "web"}}}
}

func TestStuckRolloutRejectsBadInput(t *testing.T) {
	cs, _ := stuckFixture(t, giveUp)
	env := stuckEnv(cs, new([]string))
	for _, c := range []struct {
		s    StuckRollout
		kind workload.Kind
		want string
	}{
		{StuckRollout{Version: "v2"}, workload.Deployment, "set Version and Env"},
		{StuckRollout{Env: map[string]string{"NEVER_READY": "true"}}, workload.Deployment, "set Version and Env"},
		{StuckRollout{Version: "v2", Env: map[string]string{"NEVER_READY": "true"}}, workload.StatefulSet, "only a Deployment"},
	} {
		env.Target.Kind = c.kind
		if err := c.s.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v on a %s: err %v, want %q", c.s, c.kind, err, c.want)
		}
	}
	// a deadline the disruption would not live to see
	env.Target.Kind = workload.Deployment
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := StuckRollout{Version: "v2", Env: map[string]string{"NEVER_READY": "true"}}.Run(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "progressDeadlineSeconds 20") {
		t.Fatalf("err %v", err)
	}
}

func TestStuckRolloutReportsStuckAndRollsBack(t *testing.T) {
	cs, patches := stuckFixture(t, giveUp)
	var verified []string
	err := StuckRollout{Version: "v2", Env: map[string]string{"NEVER_READY": "true"}}.Run(bounded(t), stuckEnv(cs, &verified))
	var stuck Stuck
	if !errors.As(err, &stuck) || stuck.RolledBackTo != "1" || !strings.Contains(stuck.Condition, "timed out progressing") {
		t.Fatalf("err %v, want Stuck rolled back to revision 1", err)
	}
	if stuck.Deadline != 20 || stuck.Replicas != 3 || stuck.OldMinAvailable != 3 || stuck.NewMaxAvailable != 0 || stuck.After <= 0 {
		t.Fatalf("stuck %+v: want deadline 20 s, the old version's 3 of 3 replicas available, none of the new", stuck)
	}
	if len(*patches) != 2 || !strings.Contains((*patches)[0], `{"name":"NEVER_READY","value":"true"}`) ||
		!strings.Contains((*patches)[0], `{"name":"POD_VERSION","value":"v2"}`) || strings.Contains((*patches)[1], "v2") {
		t.Fatalf("patches %q: want the broken version's env, then revision 1's template", *patches)
	}
	all := strings.Join(verified, "\n")
	for _, want := range []string{"ProgressDeadlineExceeded", "the v2 ReplicaSet never had an available replica",
		"the old ReplicaSet web-1 kept all 3 replicas available throughout", "the same 3 pods (by UID) before and after",
		"rolled back to revision 1 (web-1)"} {
		if !strings.Contains(all, want) {
			t.Errorf("verified %q lacks %q", verified, want)
		}
	}
	if _, err := cs.CoreV1().Pods("ns").Get(context.Background(), "web-2-x", metav1.GetOptions{}); err == nil {
		t.Fatal("the broken version's pod is still there")
	}
}

func TestStuckRolloutThatCompletesIsWatchedUntilItCrashes(t *testing.T) {
	cs, _ := stuckFixture(t, complete)
	var verified []string
	err := StuckRollout{Version: "v2", Env: map[string]string{"CRASH_AFTER": "10s"}}.Run(bounded(t), stuckEnv(cs, &verified))
	if err != nil {
		t.Fatalf("a completed rollout that crashed is judged by its requests: err %v", err)
	}
	all := strings.Join(verified, "\n")
	if !strings.Contains(all, "completed, then crashed (web-2-x: container fixture restarted 1 times)") ||
		!strings.Contains(all, "the v2 ReplicaSet had up to 3 available replicas") {
		t.Fatalf("verified %q", verified)
	}
}

func TestStuckRolloutOfAHealthyVersionIsUnverified(t *testing.T) {
	cs, _ := stuckFixture(t, healthy)
	err := StuckRollout{Version: "v2", Env: map[string]string{"CRASH_AFTER": "10m"}, CrashWatch: time.Second}.Run(bounded(t), stuckEnv(cs, new([]string)))
	var u Unverified
	if !errors.As(err, &u) || !strings.Contains(u.What, "not broken") {
		t.Fatalf("err %v, want Unverified", err)
	}
}

// TestStuckRolloutStartsFromACompleteRollout: pods Ready for less than
// minReadySeconds are not available yet; the broken version is rolled out
// only once the old one is, so its capacity is what it was.
func TestStuckRolloutStartsFromACompleteRollout(t *testing.T) {
	cs, patches := stuckFixtureFrom(t, giveUp, 3)
	var verified []string
	err := StuckRollout{Version: "v2", Env: map[string]string{"NEVER_READY": "true"}}.Run(bounded(t), stuckEnv(cs, &verified))
	var stuck Stuck
	if !errors.As(err, &stuck) || stuck.OldMinAvailable != 3 {
		t.Fatalf("err %v (%+v): want stuck with the old version's 3 replicas available throughout", err, stuck)
	}
	var looksBeforePatch int
	for _, a := range cs.Actions() {
		if a.GetVerb() == "patch" {
			break
		}
		if a.GetVerb() == "get" && a.GetResource().Resource == "deployments" {
			looksBeforePatch++
		}
	}
	if looksBeforePatch < 4 || len(*patches) != 2 {
		t.Fatalf("%d looks before the broken version's patch, %d patches: want it after the old version was available", looksBeforePatch, len(*patches))
	}
}
