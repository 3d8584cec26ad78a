package kind_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/internal/testcluster"
	"github.com/zerodrop/zerodrop/kind"
)

const nodePort = 30080

// TestClusterTrafficAndDrain proves the cluster the way a workload meets it:
// a pod on each worker behind a NodePort answers on 127.0.0.1, pods reach each
// other across nodes, CoreDNS resolves the Service, and a real drain (kubectl's
// drain library) moves the pods to the other worker, which then answers.
func TestClusterTrafficAndDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, err := testcluster.Get(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	image, err := testcluster.FixtureImage(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := "zd-cluster-" + rand.String(5)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"zerodrop.dev/test": "cluster"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	defer func() {
		if t.Failed() {
			dumpNamespace(t, cs, ns)
		}
	}()

	labels := map[string]string{"app": "echo"}
	honor := corev1.NodeInclusionPolicyHonor
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					// one pod per schedulable worker; a cordoned node is not a domain (nodeTaintsPolicy: Honor)
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels}, NodeTaintsPolicy: &honor,
					}},
					Containers: []corev1.Container{{
						Name: "fixture", Image: image, ImagePullPolicy: corev1.PullNever,
						Args:  []string{"--on-sigterm", "drain=2s"},
						Env:   []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1},
						SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}, ReadOnlyRootFilesystem: ptr.To(true)},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080), NodePort: nodePort}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pods := waitPods(ctx, t, cs, ns, 2)
	if pods[0].Spec.NodeName == pods[1].Spec.NodeName {
		t.Fatalf("both pods on %s, want one per worker", pods[0].Spec.NodeName)
	}
	names := podNames(pods)
	seen := answersFrom(ctx, t, names)
	t.Logf("NodePort 127.0.0.1:%d answered from %v", nodePort, seen)

	// pod-to-pod across nodes, and CoreDNS, from inside pod 0
	out := probe(ctx, t, cs, ns, pods[0].Name, map[string]string{"url": fmt.Sprintf("http://%s:8080/", pods[1].Status.PodIP)})
	if !strings.HasPrefix(out, "200 "+pods[1].Name) {
		t.Fatalf("pod %s on %s could not reach pod %s on %s: %q", pods[0].Name, pods[0].Spec.NodeName, pods[1].Name, pods[1].Spec.NodeName, out)
	}
	svcIP := mustGetSvcIP(ctx, t, cs, ns)
	if out := probe(ctx, t, cs, ns, pods[0].Name, map[string]string{"lookup": "echo." + ns + ".svc.cluster.local"}); !strings.Contains(out, svcIP) {
		t.Fatalf("CoreDNS lookup of the Service gave %q, want %s", out, svcIP)
	}
	if out := probe(ctx, t, cs, ns, pods[1].Name, map[string]string{"url": "http://echo:8080/"}); !strings.HasPrefix(out, "200 echo-") {
		t.Fatalf("ClusterIP by name from pod %s: %q", pods[1].Name, out)
	}

	// drain the first pod's worker the way kubectl does
	drained := pods[0].Spec.NodeName
	other := pods[1].Spec.NodeName
	node, err := cs.CoreV1().Nodes().Get(ctx, drained, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var drainOut bytes.Buffer
	helper := &drain.Helper{Ctx: ctx, Client: cs, Force: false, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true,
		DeleteEmptyDirData: true, Timeout: 2 * time.Minute, Out: &drainOut, ErrOut: &drainOut}
	t.Cleanup(func() {
		n, err := cs.CoreV1().Nodes().Get(context.Background(), drained, metav1.GetOptions{})
		if err == nil {
			h := *helper
			h.Ctx = context.Background()
			_ = drain.RunCordonOrUncordon(&h, n, false)
		}
	})
	start := time.Now()
	if err := drain.RunCordonOrUncordon(helper, node, true); err != nil {
		t.Fatal(err)
	}
	if err := drain.RunNodeDrain(helper, drained); err != nil {
		t.Fatalf("drain %s: %v\n%s", drained, err, drainOut.String())
	}
	t.Logf("drained %s in %s", drained, time.Since(start).Round(time.Millisecond))
	after := waitPods(ctx, t, cs, ns, 2)
	for _, p := range after {
		if p.Spec.NodeName != other {
			t.Fatalf("after draining %s, pod %s runs on %s, want %s", drained, p.Name, p.Spec.NodeName, other)
		}
	}
	seen = answersFrom(ctx, t, podNames(after))
	t.Logf("after the drain NodePort answered from %v", seen)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitPods waits until exactly n pods of the namespace are Ready and none is terminating.
func waitPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, n int) []corev1.Pod {
	t.Helper()
	var got []corev1.Pod
	state := ""
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		got = got[:0]
		var desc []string
		for _, p := range list.Items {
			desc = append(desc, fmt.Sprintf("%s@%s ready=%v deleting=%v", p.Name, p.Spec.NodeName, kind.PodReady(&p), p.DeletionTimestamp != nil))
			if p.DeletionTimestamp == nil && kind.PodReady(&p) {
				got = append(got, p)
			}
		}
		state = strings.Join(desc, ", ")
		return len(got) == n && len(list.Items) == n, nil
	})
	if err != nil {
		t.Fatalf("waiting for %d ready pods: %v (pods: %s)", n, err, state)
	}
	return got
}

func podNames(pods []corev1.Pod) map[string]bool {
	m := map[string]bool{}
	for _, p := range pods {
		m[p.Name] = true
	}
	return m
}

// answersFrom sends bounded traffic to the NodePort on 127.0.0.1 until every
// expected pod has answered (endpoints may take a moment to reach kube-proxy).
func answersFrom(ctx context.Context, t *testing.T, want map[string]bool) map[string]int {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	seen := map[string]int{}
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; i < 600 && time.Now().Before(deadline); i++ {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", nodePort))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				seen[resp.Header.Get("X-Pod-Name")]++
			}
		}
		all := true
		for p := range want {
			if seen[p] == 0 {
				all = false
			}
		}
		if all {
			for p := range seen {
				if !want[p] {
					t.Fatalf("answer from unexpected pod %s (want %v)", p, want)
				}
			}
			return seen
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("NodePort 127.0.0.1:%d: answers %v, want every pod of %v", nodePort, seen, want)
	return nil
}

// probe asks the fixture in a pod, through the API server's pod proxy, to
// fetch a URL or resolve a name from inside the cluster.
func probe(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, pod string, params map[string]string) string {
	t.Helper()
	var out []byte
	var err error
	for i := 0; i < 20; i++ {
		out, err = cs.CoreV1().Pods(ns).ProxyGet("http", pod, "8080", "/probe", params).DoRaw(ctx)
		if err == nil {
			return string(out)
		}
		time.Sleep(time.Second)
	}
	return fmt.Sprintf("error: %v %s", err, out)
}

func mustGetSvcIP(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	s, err := cs.CoreV1().Services(ns).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.ClusterIP
}

// dumpNamespace logs pods and events: quiet when passing, detailed when failing.
func dumpNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	ctx := context.Background()
	if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			t.Logf("pod %s node=%s phase=%s ip=%s", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP)
		}
	}
	if evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range evs.Items {
			t.Logf("event %s %s/%s: %s %s", e.LastTimestamp.Format(time.RFC3339), e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	_ = os.Stderr
}
