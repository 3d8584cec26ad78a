package kind

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// TrafficCheck is what CheckTraffic proved.
type TrafficCheck struct {
	Namespace string
	Pods      []corev1.Pod   // one per worker
	Answers   map[string]int // NodePort answers per pod
}

// CheckTraffic proves the cluster carries traffic the way a workload meets it:
// a pod on each worker behind a NodePort answers on 127.0.0.1, every pod
// reaches a pod on another node, and CoreDNS resolves the Service. image must
// be zerodrop's fixture (it answers /probe and sets X-Pod-Name) and be loaded
// on the nodes. With keep the namespace stays for the caller (who deletes it).
func (c *Cluster) CheckTraffic(ctx context.Context, image string, keep bool) (*TrafficCheck, error) {
	done := phase.Start(c.log, "check traffic", "workers", c.Spec.Workers)
	tc, err := c.checkTraffic(ctx, image, keep)
	return tc, done(err)
}

// SmokeName names the smoke workload's Deployment, Service and pods' app label.
const SmokeName = "smoke"

func (c *Cluster) checkTraffic(ctx context.Context, image string, keep bool) (*TrafficCheck, error) {
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	nodePort := c.nodePortMapping()
	ns := "zd-smoke-" + rand.String(5)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: map[string]string{"zerodrop.dev/smoke": "true"}}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	cleanup := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cs.CoreV1().Services(ns).Delete(dctx, SmokeName, metav1.DeleteOptions{}) // free the node port now
		_ = cs.CoreV1().Namespaces().Delete(dctx, ns, metav1.DeleteOptions{})
	}
	ok := false
	defer func() {
		if !ok || !keep {
			cleanup()
		}
	}()
	labels := map[string]string{"app": SmokeName}
	honor := corev1.NodeInclusionPolicyHonor
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: SmokeName, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(c.Spec.Workers)),
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
						Name: "probe", Image: image, ImagePullPolicy: corev1.PullNever,
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
		return nil, fmt.Errorf("kind: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: SmokeName, Namespace: ns},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: labels,
			Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080), NodePort: nodePort.ContainerPort}}},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("kind: smoke service on node port %d: %w", nodePort.ContainerPort, err)
	}
	pods, err := WaitPods(ctx, cs, ns, c.Spec.Workers)
	if err != nil {
		return nil, err
	}
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) != len(pods) {
		return nil, fmt.Errorf("kind: smoke pods share nodes (%d pods on %d nodes): a worker is not schedulable", len(pods), len(nodes))
	}
	answers, err := NodePortAnswers(ctx, nodePort.HostPort, podNames(pods))
	if err != nil {
		return nil, err
	}
	svcObj, err := cs.CoreV1().Services(ns).Get(ctx, SmokeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	for i, p := range pods {
		other := pods[(i+1)%len(pods)]
		if other.Name == p.Name {
			break
		}
		out := Probe(ctx, cs, ns, p.Name, map[string]string{"url": fmt.Sprintf("http://%s:8080/", other.Status.PodIP)})
		if !strings.HasPrefix(out, "200 "+other.Name) {
			return nil, fmt.Errorf("kind: pod %s on %s cannot reach pod %s on %s: %s", p.Name, p.Spec.NodeName, other.Name, other.Spec.NodeName, out)
		}
	}
	if out := Probe(ctx, cs, ns, pods[0].Name, map[string]string{"lookup": SmokeName + "." + ns + ".svc.cluster.local"}); !strings.Contains(out, svcObj.Spec.ClusterIP) {
		return nil, fmt.Errorf("kind: CoreDNS lookup of the smoke Service from %s gave %q, want %s", pods[0].Name, out, svcObj.Spec.ClusterIP)
	}
	if out := Probe(ctx, cs, ns, pods[0].Name, map[string]string{"url": "http://" + SmokeName + ":8080/"}); !strings.HasPrefix(out, "200 "+SmokeName+"-") {
		return nil, fmt.Errorf("kind: ClusterIP by name from %s: %s", pods[0].Name, out)
	}
	ok = true
	return &TrafficCheck{Namespace: ns, Pods: pods, Answers: answers}, nil
}

func (c *Cluster) nodePortMapping() PortMapping {
	for _, p := range c.Spec.PortMappings {
		if p.Name == "nodeport" {
			return p
		}
	}
	return DefaultPortMappings[0]
}

// RetryWhilePortAllocated calls create until it succeeds, retrying for up to
// a minute while the API server says a node port is still allocated: an
// earlier scenario's Service in a namespace being deleted still holds it.
// An object that already exists counts as created.
func RetryWhilePortAllocated(ctx context.Context, create func() error) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = create()
		switch {
		case last == nil, apierrors.IsAlreadyExists(last):
			return true, nil
		case strings.Contains(last.Error(), "port is already allocated"):
			return false, nil
		}
		return false, last
	})
	if err != nil && last != nil && err != last {
		return fmt.Errorf("%w (last: %v)", err, last)
	}
	return err
}

// WaitPods waits until exactly n pods of the namespace are Ready and none terminating.
func WaitPods(ctx context.Context, cs kubernetes.Interface, ns string, n int) ([]corev1.Pod, error) {
	var got []corev1.Pod
	state := ""
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		got = got[:0]
		var desc []string
		for i := range list.Items {
			p := &list.Items[i]
			desc = append(desc, fmt.Sprintf("%s@%s %s", p.Name, p.Spec.NodeName, podState(p)))
			if p.DeletionTimestamp == nil && PodReady(p) {
				got = append(got, *p)
			}
		}
		state = strings.Join(desc, ", ")
		return len(got) == n && len(list.Items) == n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("kind: waiting for %d ready pods in %s: %w (pods: %s)", n, ns, err, state)
	}
	return got, nil
}

func podNames(pods []corev1.Pod) map[string]bool {
	m := map[string]bool{}
	for _, p := range pods {
		m[p.Name] = true
	}
	return m
}

// NodePortAnswers sends bounded traffic (at most 600 requests, 90 s) to a
// node port on 127.0.0.1 until every wanted pod has answered: endpoints may
// take a moment to reach kube-proxy. An answer from another pod is an error.
func NodePortAnswers(ctx context.Context, hostPort int32, want map[string]bool) (map[string]int, error) {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	seen := map[string]int{}
	deadline := time.Now().Add(90 * time.Second)
	url := fmt.Sprintf("http://%s:%d/", Loopback, hostPort)
	for i := 0; i < 600 && time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		resp, err := client.Get(url)
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
					return seen, fmt.Errorf("kind: %s answered from unexpected pod %s (want %v)", url, p, want)
				}
			}
			return seen, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return seen, fmt.Errorf("kind: %s answered %v, want every pod of %v", url, seen, want)
}

// Probe asks the fixture in a pod, through the API server's pod proxy, to
// fetch a URL or resolve a name from inside the cluster (retried for 20 s).
func Probe(ctx context.Context, cs kubernetes.Interface, ns, pod string, params map[string]string) string {
	var out []byte
	var err error
	for i := 0; i < 20 && ctx.Err() == nil; i++ {
		out, err = cs.CoreV1().Pods(ns).ProxyGet("http", pod, "8080", "/probe", params).DoRaw(ctx)
		if err == nil {
			return string(out)
		}
		time.Sleep(time.Second)
	}
	return fmt.Sprintf("error: %v %s", err, out)
}
