package observe

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestTimelineRecordsNewEventsNotHistory(t *testing.T) {
	tl := NewTimeline()
	w := &watcher{t: tl, since: time.Now().Truncate(time.Second)}
	old := &corev1.Event{Reason: "Scheduled", LastTimestamp: metav1.NewTime(time.Now().Add(-time.Hour)), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}}
	w.event(nil, old)
	killing := &corev1.Event{Reason: "Killing", Type: "Normal", Count: 1, LastTimestamp: metav1.Now(), Message: "Stopping container fixture",
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}}
	w.event(nil, killing)
	w.event(killing, killing) // a resync: nothing new
	again := killing.DeepCopy()
	again.Count = 2
	w.event(killing, again)
	var got []string
	for _, e := range tl.Events() {
		got = append(got, e.Kind+" "+e.Pod+" "+e.Detail)
	}
	want := []string{"k8s_Killing web-1 Normal Pod/web-1: Stopping container fixture", "k8s_Killing web-1 Normal Pod/web-1: Stopping container fixture (x2)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestInstanceKey(t *testing.T) {
	for _, tc := range [][3]string{
		{"web-0", "containerd://0123456789abcdef0123", "web-0@0123456789ab"},
		{"web-0", "fedcba9876543210", "web-0@fedcba987654"},
		{"web-0", "", "web-0@"},
	} {
		if got := InstanceKey(tc[0], tc[1]); got != tc[2] {
			t.Errorf("InstanceKey(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestPropagationTails(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	tl := []outcome.Event{
		// web-a's endpoint in the nodeport Service's slice is not yet ready
		// when the recording starts: that is no removal
		{Time: t0.Add(-10 * time.Second), Source: "endpoint", Kind: "endpoint_not_ready", Pod: "web-a", Detail: "web-nodeport 10.0.0.1"},
		{Time: t0.Add(-10 * time.Second), Source: "endpoint", Kind: "endpoint_ready", Pod: "web-a", Detail: "web 10.0.0.1"},
		{Time: t0.Add(-9 * time.Second), Source: "endpoint", Kind: "endpoint_ready", Pod: "web-a", Detail: "web-nodeport 10.0.0.1"},
		{Time: t0, Source: "app", Kind: "app_sigterm", Pod: "web-a"},
		{Time: t0.Add(200 * time.Millisecond), Source: "endpoint", Kind: "endpoint_terminating", Pod: "web-a", Detail: "web-nodeport 10.0.0.1"},
		{Time: t0.Add(time.Second), Source: "app", Kind: "app_sigterm", Pod: "web-b"},
	}
	recs := []outcome.Record{
		{Path: "nodeport", Pod: "web-a", Class: outcome.OK, Start: t0.Add(-time.Second)},
		{Path: "nodeport", Pod: "web-a", Class: outcome.OK, Start: t0.Add(900 * time.Millisecond)},
		{Path: "nodeport", Pod: "web-b", Class: outcome.OK, Start: t0.Add(1300 * time.Millisecond)},
		{Path: "nodeport", Pod: "web-a", Class: outcome.Refused, Start: t0.Add(5 * time.Second)},
		{Path: "nodeport", Pod: "web-c", Class: outcome.OK, Start: t0.Add(5 * time.Second)}, // never terminated
	}
	tails := PropagationTails(recs, tl)
	got := tails["nodeport"]
	if got.FromSIGTERM != 900*time.Millisecond || got.Pod != "web-a" || got.FromEndpointRemoval != 700*time.Millisecond || got.Pods != 2 {
		t.Fatalf("tail %+v", got)
	}

	// a pod not ready for a moment as it started, then taken out of its
	// Service long before its deletion (a rainbow's old colour, serving its
	// kept-alive clients until then): its tail runs from the deletion
	tl = []outcome.Event{
		{Time: t0.Add(-20 * time.Second), Source: "endpoint", Kind: "endpoint_not_ready", Pod: "web-blue-a"},
		{Time: t0.Add(-19 * time.Second), Source: "endpoint", Kind: "endpoint_ready", Pod: "web-blue-a"},
		{Time: t0.Add(-10 * time.Second), Source: "endpoint", Kind: "endpoint_removed", Pod: "web-blue-a"},
		{Time: t0, Source: "pod", Kind: "pod_deleting", Pod: "web-blue-a"},
		{Time: t0.Add(100 * time.Millisecond), Source: "app", Kind: "app_sigterm", Pod: "web-blue-a"},
	}
	recs = []outcome.Record{
		{Path: "clusterip+ka", Pod: "web-blue-a", Class: outcome.OK, Start: t0.Add(-time.Second)},
		{Path: "clusterip", Pod: "web-blue-a", Class: outcome.OK, Start: t0.Add(-9 * time.Second)},
	}
	tails = PropagationTails(recs, tl)
	if ka, nc := tails["clusterip+ka"], tails["clusterip"]; ka.FromEndpointRemoval != 0 || nc.FromEndpointRemoval != 0 || ka.Pods != 1 {
		t.Fatalf("tails %+v %+v: nothing reached the pod after its deletion began", ka, nc)
	}
}

// A native sidecar reports in the init container statuses: its end goes on
// the timeline after the app's, and its log is followed as the app's is.
func TestTimelineSeesNativeSidecars(t *testing.T) {
	tl := NewTimeline()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ref := workload.Ref{Namespace: "ns", Container: "fixture", AppEvents: true, Sidecars: []string{"proxy"}}
	w := &watcher{t: tl, cs: fake.NewClientset(), ctx: ctx, ref: ref, following: map[string]bool{}, endpoints: map[string]string{}}
	running := func(name, id string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, ContainerID: id, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	}
	ended := func(name, id string, at time.Time) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, ContainerID: id, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: metav1.NewTime(at)}}}
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{running("fixture", "containerd://aaaaaaaaaaaa")}
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{running("proxy", "containerd://bbbbbbbbbbbb")}
	w.pod(nil, p)
	w.mu.Lock()
	followed := w.following["proxy/web-1@bbbbbbbbbbbb"] && w.following["web-1@aaaaaaaaaaaa"]
	w.mu.Unlock()
	if !followed {
		t.Fatalf("the app and its sidecar must both be followed: %v", w.following)
	}
	if got := tl.Instances(); len(got) != 1 || got[0] != "web-1@aaaaaaaaaaaa" {
		t.Fatalf("instances %v: the sidecar is no app instance", got)
	}
	t0 := time.Now()
	appDone := p.DeepCopy()
	appDone.Status.ContainerStatuses[0] = ended("fixture", "containerd://aaaaaaaaaaaa", t0)
	w.pod(p, appDone)
	proxyDone := appDone.DeepCopy()
	proxyDone.Status.InitContainerStatuses[0] = ended("proxy", "containerd://bbbbbbbbbbbb", t0.Add(80*time.Millisecond))
	w.pod(appDone, proxyDone)
	w.pod(proxyDone, proxyDone) // no change: nothing new
	var got []string
	for _, e := range tl.Events() {
		if e.Kind == "container_terminated" {
			got = append(got, e.Detail)
		}
	}
	if want := "fixture exit 0 Completed|proxy exit 0 Completed"; strings.Join(got, "|") != want {
		t.Fatalf("terminations %q, want %q", got, want)
	}
}
