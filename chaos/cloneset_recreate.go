package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CloneSetRecreate updates an OpenKruise CloneSet's fixture container with
// the ReCreate strategy: every pod is replaced — deleted gracefully, a new
// one created — as a Deployment's rolling update does, within the
// strategy's maxSurge and maxUnavailable. It verifies both while the update
// runs, from the pods sampled every 250 ms: never more live pods (not
// terminating) than replicas + maxSurge, never fewer of them Ready than
// replicas - maxUnavailable; and at the end, that no pod from before is
// left and every pod runs the new image.
type CloneSetRecreate struct {
	// Version picks the image from Env.Images; Image, when set, is used as is.
	Version string
	Image   string
}

// Name describes the disruption.
func (u CloneSetRecreate) Name() string { return "cloneset-recreate" }

// Run patches the strategy and the image, and waits.
func (u CloneSetRecreate) Run(ctx context.Context, env Env) error {
	cs, before, obj, index, err := startCloneSetUpdate(ctx, env)
	if err != nil {
		return err
	}
	if u.Image, err = newImage(env, u.Version, u.Image); err != nil {
		return err
	}
	b := surgeBoundsOf(obj)
	patch, _ := json.Marshal([]map[string]any{
		{"op": "add", "path": "/spec/updateStrategy/type", "value": "ReCreate"},
		{"op": "add", "path": "/spec/updateStrategy/partition", "value": 0},
		{"op": "add", "path": "/spec/updateStrategy/paused", "value": false},
		{"op": "replace", "path": fmt.Sprintf("/spec/template/spec/containers/%d/image", index), "value": u.Image},
	})
	watch := startSampling(ctx, env, b)
	env.note("cloneset_update", fmt.Sprintf("ReCreate, image %s, maxSurge %d, maxUnavailable %d", u.Image, b.surge, b.unavailable))
	if _, err := cs.Patch(ctx, env.Target.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		watch.stop()
		return fmt.Errorf("patch cloneset %s: %w", env.Target.Name, err)
	}
	err = poll(ctx, "wait for cloneset "+env.Target.Name, func(ctx context.Context) (string, error) {
		obj, err := cs.Get(ctx, env.Target.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return CloneSetPending(obj), nil
	})
	if err == nil {
		gone := map[string]bool{}
		for _, p := range before {
			gone[p.Name] = true
		}
		err = waitReplaced(ctx, env, gone, b.replicas)
	}
	seen := watch.stop()
	if err != nil {
		return err
	}
	after, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if problems := verifyRecreated(before, after, env.Target.Container, u.Image, b.replicas); len(problems) > 0 || len(seen.violations) > 0 || seen.samples == 0 {
		if seen.samples == 0 {
			problems = append(problems, "no sample of the pods while the update ran")
		}
		return Unverified{fmt.Sprintf("ReCreate update (maxSurge %d, maxUnavailable %d): %s", b.surge, b.unavailable, strings.Join(append(problems, seen.violations...), "; "))}
	}
	env.note("cloneset_updated", fmt.Sprintf("%d pods recreated; at most %d live, at least %d Ready", len(after), seen.maxLive, seen.minReady))
	env.verified("%d pods recreated (new UIDs, on %s, Ready); while it ran at most %d live pods and at least %d Ready (maxSurge %d, maxUnavailable %d of %d replicas; %d samples)",
		len(after), u.Image, seen.maxLive, seen.minReady, b.surge, b.unavailable, b.replicas, seen.samples)
	return nil
}

// surgeBounds are a rolling replacement's limits, in pods.
type surgeBounds struct{ replicas, surge, unavailable int }

// surgeBoundsOf reads replicas, maxSurge and maxUnavailable from a CloneSet,
// with OpenKruise's defaults (maxUnavailable 20%, maxSurge 0) and scaling
// (surge rounded up, unavailable down; both 0 allows one unavailable, as
// the Deployment controller does).
func surgeBoundsOf(obj *unstructured.Unstructured) surgeBounds {
	replicas := int64(1)
	if r, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); ok {
		replicas = r
	}
	value := func(field string, def intstr.IntOrString, up bool) int {
		v := def
		switch x, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "updateStrategy", field); x := x.(type) {
		case int64:
			v = intstr.FromInt32(int32(x))
		case float64:
			v = intstr.FromInt32(int32(x))
		case string:
			v = intstr.Parse(x)
		}
		n, err := intstr.GetScaledValueFromIntOrPercent(&v, int(replicas), up)
		if err != nil {
			return 0
		}
		return n
	}
	b := surgeBounds{replicas: int(replicas), surge: value("maxSurge", intstr.FromInt32(0), true), unavailable: value("maxUnavailable", intstr.FromString("20%"), false)}
	if b.surge == 0 && b.unavailable == 0 {
		b.unavailable = 1
	}
	return b
}

// check counts the live (not terminating) pods and the Ready ones among
// them, and says what breaks the bounds ("" when nothing).
func (b surgeBounds) check(ps []corev1.Pod) (live, ready int, problem string) {
	for i := range ps {
		if ps[i].DeletionTimestamp != nil {
			continue
		}
		live++
		if podReady(&ps[i]) {
			ready++
		}
	}
	var p []string
	if live > b.replicas+b.surge {
		p = append(p, fmt.Sprintf("%d live pods, above %d replicas + maxSurge %d", live, b.replicas, b.surge))
	}
	if ready < b.replicas-b.unavailable {
		p = append(p, fmt.Sprintf("%d Ready pods, below %d replicas - maxUnavailable %d", ready, b.replicas, b.unavailable))
	}
	return live, ready, strings.Join(p, ", ")
}

// sampled is what the sampling saw.
type sampled struct {
	samples, maxLive int
	minReady         int
	violations       []string // the first few, each with its time
}

type sampling struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seen   sampled
}

// startSampling lists the target's pods every 250 ms until stop, checking
// the bounds; a failed list is skipped (an API blip is not the workload's).
func startSampling(ctx context.Context, env Env, b surgeBounds) *sampling {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampling{cancel: cancel, seen: sampled{minReady: b.replicas}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		violations := 0
		for {
			if ps, err := pods(ctx, env); err == nil {
				live, ready, problem := b.check(ps)
				s.seen.samples++
				s.seen.maxLive = max(s.seen.maxLive, live)
				s.seen.minReady = min(s.seen.minReady, ready)
				if problem != "" {
					violations++
					if violations <= 3 {
						s.seen.violations = append(s.seen.violations, time.Now().UTC().Format("15:04:05.000")+": "+problem)
					}
				}
			}
			select {
			case <-ctx.Done():
				if violations > 3 {
					s.seen.violations = append(s.seen.violations, fmt.Sprintf("%d samples broke the bounds in all", violations))
				}
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns what it saw.
func (s *sampling) stop() sampled {
	s.cancel()
	s.wg.Wait()
	return s.seen
}

// verifyRecreated checks that no pod from before is left and that replicas
// pods run image, Ready.
func verifyRecreated(before, after []corev1.Pod, container, image string, replicas int) (problems []string) {
	old := map[types.UID]bool{}
	for _, p := range before {
		old[p.UID] = true
	}
	for _, p := range after {
		if old[p.UID] {
			problems = append(problems, p.Name+" was not recreated (same UID)")
		}
		if !podReady(&p) {
			problems = append(problems, p.Name+" is not Ready")
		}
	}
	if n := onImage(after, container, image); n != len(after) {
		problems = append(problems, fmt.Sprintf("%d of %d pods on %s", n, len(after), image))
	}
	if len(after) != replicas {
		problems = append(problems, fmt.Sprintf("%d pods, want %d", len(after), replicas))
	}
	return problems
}
