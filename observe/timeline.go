// Package observe watches a scenario from the outside: the timeline (pods,
// EndpointSlices, nodes, Kubernetes Events and the app's own lifecycle
// events, on one time axis), when the load is warm, what the app counted
// itself, and how long terminating pods kept getting requests. It changes
// nothing in the cluster; package chaos does.
package observe

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zerodrop/zerodrop/internal/kube"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/zerodrop/zerodrop/fixtures/server"
)

// Event is one timestamped thing on the scenario's single time axis (kind
// nodes share the host clock, so the cluster's and the load's times compare).
type Event = outcome.Event

// Timeline collects events from every source, safe for concurrent use.
type Timeline struct {
	mu     sync.Mutex
	events []Event
	// final keeps each container instance's last lifecycle report with
	// counts (exited, last_request), by InstanceKey.
	final map[string]server.Event
	// instances are the app container instances seen running, by InstanceKey.
	instances map[string]bool
	// following counts the log streams still open; ended closes per
	// instance when its stream has been read to the end.
	following sync.WaitGroup
	ended     map[string]chan struct{}
	// OnEvent, if set, sees every event as it is added (to stream to disk).
	OnEvent func(Event)
}

// NewTimeline returns an empty timeline.
func NewTimeline() *Timeline {
	return &Timeline{final: map[string]server.Event{}, instances: map[string]bool{}, ended: map[string]chan struct{}{}}
}

// InstanceKey names one run of a pod's fixture container: the pod's name and
// the container's short runtime ID. A container killed or updated in place is
// a new process with its own counts, and a StatefulSet's replacement pod has
// the old one's name.
func InstanceKey(pod, containerID string) string {
	if _, id, ok := strings.Cut(containerID, "://"); ok {
		containerID = id
	}
	if len(containerID) > 12 {
		containerID = containerID[:12]
	}
	return pod + "@" + containerID
}

// Add records an event.
func (t *Timeline) Add(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	t.mu.Lock()
	t.events = append(t.events, e)
	cb := t.OnEvent
	t.mu.Unlock()
	if cb != nil {
		cb(e)
	}
}

// Note records a harness step now; it fits Env.Note.
func (t *Timeline) Note(kind, detail string) {
	t.Add(Event{Source: "harness", Kind: kind, Detail: detail})
}

// Events returns the events in time order.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]Event(nil), t.events...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Instances returns the app container instances seen running (InstanceKey).
func (t *Timeline) Instances() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.instances))
	for k := range t.instances {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WaitLogs waits until the log of every instance not in running has been
// read to its end (its last lifecycle report is in), or ctx ends. A
// container's log stream ends when the container does.
func (t *Timeline) WaitLogs(ctx context.Context, running map[string]bool) error {
	t.mu.Lock()
	var waits []chan struct{}
	var names []string
	for k, ch := range t.ended {
		if !running[k] {
			waits = append(waits, ch)
			names = append(names, k)
		}
	}
	t.mu.Unlock()
	for i, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("observe: the log of %s did not end: %w", names[i], ctx.Err())
		}
	}
	return nil
}

// AppReports returns each container instance's last lifecycle report
// (exited or last_request) with counts, by InstanceKey.
func (t *Timeline) AppReports() map[string]server.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]server.Event{}
	for k, v := range t.final {
		out[k] = v
	}
	return out
}

// Record watches the workload's pods (by its selector: a load generator in
// the same namespace is not the workload), the namespace's EndpointSlices
// and Events, the cluster's nodes and their Events, and follows the app
// container's log of lifecycle events when the workload writes them, until
// ctx ends. It returns once the informers have synced.
func (t *Timeline) Record(ctx context.Context, cs kubernetes.Interface, ref workload.Ref) error {
	ns := ref.Namespace
	sel := labels.SelectorFromSet(ref.Selector).String()
	nsf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	podf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	all := informers.NewSharedInformerFactory(cs, 0)
	pods := podf.Core().V1().Pods().Informer()
	slices := nsf.Discovery().V1().EndpointSlices().Informer()
	nodes := all.Core().V1().Nodes().Informer()
	events := nsf.Core().V1().Events().Informer()
	// nodes' own Events (NodeNotReady, NodeNotSchedulable, Starting) live in
	// the default namespace
	nodeEventsf := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(metav1.NamespaceDefault),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "involvedObject.kind=Node" }))
	nodeEvents := nodeEventsf.Core().V1().Events().Informer()
	w := &watcher{t: t, cs: cs, ctx: ctx, ref: ref, following: map[string]bool{}, endpoints: map[string]string{}, since: time.Now().Truncate(time.Second)}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.pod(nil, o.(*corev1.Pod)) },
		UpdateFunc: func(o, n any) { w.pod(o.(*corev1.Pod), n.(*corev1.Pod)) },
		DeleteFunc: func(o any) {
			if p, ok := o.(*corev1.Pod); ok {
				t.Add(Event{Source: "pod", Kind: "pod_deleted", Pod: p.Name})
			}
		},
	}); err != nil {
		return fmt.Errorf("observe: timeline: %w", err)
	}
	if _, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.slice(o.(*discoveryv1.EndpointSlice), false) },
		UpdateFunc: func(_, n any) { w.slice(n.(*discoveryv1.EndpointSlice), false) },
		DeleteFunc: func(o any) {
			if s, ok := o.(*discoveryv1.EndpointSlice); ok {
				w.slice(s, true)
			}
		},
	}); err != nil {
		return fmt.Errorf("observe: timeline: %w", err)
	}
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(o, n any) {
			a, b := o.(*corev1.Node), n.(*corev1.Node)
			if a.Spec.Unschedulable != b.Spec.Unschedulable {
				kind := "node_uncordoned"
				if b.Spec.Unschedulable {
					kind = "node_cordoned"
				}
				t.Add(Event{Source: "node", Kind: kind, Detail: b.Name})
			}
			if r := kube.NodeReady(b); r != kube.NodeReady(a) {
				kind := "node_not_ready"
				if r {
					kind = "node_ready"
				}
				t.Add(Event{Source: "node", Kind: kind, Detail: b.Name})
			}
		},
	}); err != nil {
		return fmt.Errorf("observe: timeline: %w", err)
	}
	// the cluster's own account: kubelet (Killing, Unhealthy, FailedPreStopHook),
	// controllers (SuccessfulDelete, ScalingReplicaSet), the scheduler, the
	// node controller (NodeNotReady on the pods)
	for _, inf := range []cache.SharedIndexInformer{events, nodeEvents} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.event(nil, o.(*corev1.Event)) },
			UpdateFunc: func(o, n any) { w.event(o.(*corev1.Event), n.(*corev1.Event)) },
		}); err != nil {
			return fmt.Errorf("observe: timeline: %w", err)
		}
	}
	nsf.Start(ctx.Done())
	podf.Start(ctx.Done())
	all.Start(ctx.Done())
	nodeEventsf.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, slices.HasSynced, nodes.HasSynced, events.HasSynced, nodeEvents.HasSynced) {
		return fmt.Errorf("observe: timeline: informers did not sync")
	}
	return nil
}

type watcher struct {
	t         *Timeline
	cs        kubernetes.Interface
	ctx       context.Context
	ref       workload.Ref
	mu        sync.Mutex
	following map[string]bool
	endpoints map[string]string // slice/address -> last state
	since     time.Time         // Events last seen before this are history
}

// event records a Kubernetes Event when it happens or repeats during the
// recording (not the ones listed at the start: they are history). The time
// is when it was seen, on the same axis as everything else; the API's own
// timestamps have second resolution.
func (w *watcher) event(old, e *corev1.Event) {
	if eventTime(e).Before(w.since) || old != nil && old.Count == e.Count && old.Series.String() == e.Series.String() {
		return
	}
	obj := e.InvolvedObject
	detail := fmt.Sprintf("%s %s/%s: %s", e.Type, obj.Kind, obj.Name, e.Message)
	if e.Count > 1 {
		detail += fmt.Sprintf(" (x%d)", e.Count)
	}
	ev := Event{Source: "k8s", Kind: "k8s_" + e.Reason, Detail: detail}
	if obj.Kind == "Pod" {
		ev.Pod = obj.Name
	}
	w.t.Add(ev)
}

// eventTime is when an Event last happened, whichever API generation wrote it.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

func (w *watcher) pod(old, p *corev1.Pod) {
	add := func(kind, detail string, at time.Time) {
		w.t.Add(Event{Time: at, Source: "pod", Kind: kind, Pod: p.Name, Detail: detail})
	}
	if old == nil {
		add("pod_created", p.Spec.NodeName, time.Time{})
	}
	if old != nil && old.Spec.NodeName == "" && p.Spec.NodeName != "" {
		add("pod_scheduled", p.Spec.NodeName, time.Time{})
	}
	if r := kube.PodReady(p); old == nil && r || old != nil && kube.PodReady(old) != r {
		kind := "pod_unready"
		if r {
			kind = "pod_ready"
		}
		add(kind, "", time.Time{})
	}
	if p.DeletionTimestamp != nil && (old == nil || old.DeletionTimestamp == nil) {
		grace := int64(0)
		if p.DeletionGracePeriodSeconds != nil {
			grace = *p.DeletionGracePeriodSeconds
		}
		add("pod_deleting", fmt.Sprintf("grace %ds", grace), time.Time{})
	}
	var oldStatuses []corev1.ContainerStatus
	if old != nil {
		oldStatuses = old.Status.ContainerStatuses
	}
	for i, cs := range p.Status.ContainerStatuses {
		w.containerStatus(p, cs, i, oldStatuses, add)
		if cs.State.Running != nil && cs.Name == w.ref.Container {
			w.track(p.Namespace, p.Name, InstanceKey(p.Name, cs.ContainerID))
		}
	}
	// restartable init containers (native sidecars) report here: when they
	// end tells the shutdown order
	oldStatuses = nil
	if old != nil {
		oldStatuses = old.Status.InitContainerStatuses
	}
	for i, cs := range p.Status.InitContainerStatuses {
		w.containerStatus(p, cs, i, oldStatuses, add)
	}
}

// containerStatus adds a container's termination, and follows the log of a
// running sidecar that reports lifecycle events.
func (w *watcher) containerStatus(p *corev1.Pod, cs corev1.ContainerStatus, i int, old []corev1.ContainerStatus, add func(kind, detail string, at time.Time)) {
	var was *corev1.ContainerStateTerminated
	if i < len(old) && old[i].Name == cs.Name {
		was = old[i].State.Terminated
	}
	if term := cs.State.Terminated; term != nil && was == nil {
		add("container_terminated", fmt.Sprintf("%s exit %d %s", cs.Name, term.ExitCode, term.Reason), term.FinishedAt.Time)
	}
	if cs.State.Running != nil && w.ref.AppEvents && slices.Contains(w.ref.Sidecars, cs.Name) {
		w.followSidecar(p.Namespace, p.Name, cs.Name, InstanceKey(p.Name, cs.ContainerID))
	}
}

// followSidecar puts a sidecar's lifecycle events on the timeline as
// "<container>_<event>" from source "sidecar" (the proxy's SIGTERM, drain and
// exit beside the app's), while it runs. Its counts are not the app's.
func (w *watcher) followSidecar(ns, pod, container, instance string) {
	w.mu.Lock()
	key := container + "/" + instance
	if w.following[key] {
		w.mu.Unlock()
		return
	}
	w.following[key] = true
	w.mu.Unlock()
	w.t.following.Add(1)
	go func() {
		defer w.t.following.Done()
		rc, err := w.cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(w.ctx)
		if err != nil {
			w.t.Add(Event{Source: "harness", Kind: "log_follow_failed", Pod: pod, Detail: container + ": " + err.Error()})
			return
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e server.Event
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.Event == "" {
				continue
			}
			detail := e.Detail
			if len(e.UpstreamErrors) > 0 {
				b, _ := json.Marshal(e.UpstreamErrors)
				detail = strings.TrimSpace(detail + " upstream errors " + string(b))
			}
			w.t.Add(Event{Time: e.Time, Source: outcome.SourceSidecar, Kind: container + "_" + e.Event, Pod: pod, Detail: detail})
		}
	}()
}

// track notes a running instance of the app container and, when the
// workload writes lifecycle events, streams them from its log while it runs:
// a deleted pod's logs are gone afterwards. Each container instance is
// followed on its own: the stream of a container ends with it.
func (w *watcher) track(ns, pod, instance string) {
	w.mu.Lock()
	if w.following[instance] {
		w.mu.Unlock()
		return
	}
	w.following[instance] = true
	w.mu.Unlock()
	ended := make(chan struct{})
	w.t.mu.Lock()
	w.t.instances[instance] = true
	w.t.ended[instance] = ended
	w.t.mu.Unlock()
	if !w.ref.AppEvents {
		close(ended)
		return
	}
	w.t.following.Add(1)
	go func() {
		defer w.t.following.Done()
		defer close(ended)
		rc, err := w.cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: w.ref.Container, Follow: true}).Stream(w.ctx)
		if err != nil {
			w.t.Add(Event{Source: "harness", Kind: "log_follow_failed", Pod: pod, Detail: err.Error()})
			return
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e server.Event
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.Event == "" {
				continue
			}
			detail := e.Detail
			if len(e.After) > 0 {
				b, _ := json.Marshal(e.After)
				detail = "after SIGTERM " + string(b)
			}
			w.t.Add(Event{Time: e.Time, Source: "app", Kind: "app_" + e.Event, Pod: pod, Detail: detail})
			if e.Event == server.EvExited || e.Event == server.EvLastRequest {
				w.t.mu.Lock()
				if prev, ok := w.t.final[instance]; !ok || prev.Event != server.EvExited {
					w.t.final[instance] = e
				}
				w.t.mu.Unlock()
			}
		}
	}()
}

func (w *watcher) slice(s *discoveryv1.EndpointSlice, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for _, ep := range s.Endpoints {
		pod := ""
		if ep.TargetRef != nil {
			pod = ep.TargetRef.Name
		}
		for _, addr := range ep.Addresses {
			key := s.Name + "/" + addr
			seen[key] = true
			state := endpointState(ep.Conditions)
			if deleted {
				state = "removed"
			}
			if w.endpoints[key] != state {
				w.endpoints[key] = state
				w.t.Add(Event{Source: "endpoint", Kind: "endpoint_" + state, Pod: pod, Detail: s.Labels[discoveryv1.LabelServiceName] + " " + addr})
			}
		}
	}
	prefix := s.Name + "/"
	for key, state := range w.endpoints {
		if len(key) > len(prefix) && key[:len(prefix)] == prefix && !seen[key] && state != "removed" {
			w.endpoints[key] = "removed"
			w.t.Add(Event{Source: "endpoint", Kind: "endpoint_removed", Detail: s.Labels[discoveryv1.LabelServiceName] + " " + key[len(prefix):]})
		}
	}
}

func endpointState(c discoveryv1.EndpointConditions) string {
	t := func(b *bool) bool { return b != nil && *b }
	switch {
	case t(c.Terminating) && t(c.Serving):
		return "terminating_serving"
	case t(c.Terminating):
		return "terminating"
	case c.Ready == nil || *c.Ready:
		return "ready"
	}
	return "not_ready"
}
