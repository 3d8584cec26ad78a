package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/internal/kube"
	"github.com/zerodrop/zerodrop/load"
)

// remoteLoad is the in-cluster generator's run, followed into the tracker.
type remoteLoad struct {
	client   *load.Remote
	followed chan followResult
}

type followResult struct {
	n   int
	err error
}

// loadgenPod is the in-cluster load generator: on the control-plane node,
// which no worker drain or eviction touches, with no API rights, non-root,
// read-only, no privileges.
func loadgenPod(ns, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "loadgen", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "zerodrop-loadgen"}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{"node-role.kubernetes.io/control-plane": ""},
			Tolerations:                   []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			AutomountServiceAccountToken:  ptr.To(false),
			SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532)},
			Containers: []corev1.Container{{
				Name: "loadgen", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Args: []string{"--listen", ":8081"},
				// the instrument must not starve: a CPU request makes the pod
				// Burstable, with its share of a busy node
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
				Ports: []corev1.ContainerPort{{ContainerPort: 8081}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8081)}},
					PeriodSeconds: 1},
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			}},
		},
	}
}

// startRemote runs the in-cluster generator, waits until it answers through
// the API server's pod proxy, starts the load on the in-cluster targets and
// follows its records into the tracker.
func startRemote(ctx context.Context, st *State, t targets) (*remoteLoad, error) {
	rt := st.rt
	if rt.Images.Loadgen == "" || rt.RESTConfig == nil {
		return nil, fmt.Errorf("runner: in-cluster paths need the load generator image and a REST config")
	}
	if _, err := rt.Client.CoreV1().Pods(st.ns).Create(ctx, loadgenPod(st.ns, rt.Images.Loadgen), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("runner: load generator: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := rt.Client.CoreV1().Pods(st.ns).Get(ctx, "loadgen", metav1.GetOptions{})
		return err == nil && kube.PodReady(p), nil
	})
	if err != nil {
		return nil, fmt.Errorf("runner: load generator not ready: %w", err)
	}
	hc, err := rest.HTTPClientFor(rt.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	r := &load.Remote{Base: strings.TrimSuffix(rt.RESTConfig.Host, "/") + "/api/v1/namespaces/" + st.ns + "/pods/loadgen:8081/proxy", Client: hc}
	req := load.StartRequest{Plan: st.plan, Targets: t.requests}
	if len(t.streams) > 0 {
		req.Streams = &load.StreamRequest{Plan: st.streamPlan, Targets: t.streams}
	}
	if err := r.StartRun(ctx, req); err != nil {
		return nil, err
	}
	rl := &remoteLoad{client: r, followed: make(chan followResult, 1)}
	go func() {
		// the records are followed to the end even when ctx ends: stop
		// asks the generator to end, and every record it made is kept
		n, err := r.Follow(context.WithoutCancel(ctx), st.tracker)
		rl.followed <- followResult{n, err}
	}()
	return rl, nil
}

// stop ends the generator's run and returns its result once every record
// has been followed. A generator that failed (killed, its node lost, the
// API server's proxy gone for good) leaves a result marked invalid: the
// records it streamed stay on disk, but they are no evidence.
func (rl *remoteLoad) stop() (*load.Result, int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopErr := rl.client.Stop(ctx)
	f := <-rl.followed
	var res *load.Result
	err := stopErr
	if err == nil {
		err = f.err
	}
	if err == nil {
		res, err = rl.client.Result(ctx)
	}
	if err != nil {
		return &load.Result{Valid: false, Invalid: []string{fmt.Sprintf("the in-cluster load generator failed after streaming %d records: %v", f.n, err)}}, f.n
	}
	return res, f.n
}
