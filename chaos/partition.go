package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/zerodrop/zerodrop/workload"

	"github.com/zerodrop/zerodrop/internal/kube"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PartitionedRollout is a StatefulSet's staged rolling update: it changes
// the template to Version with updateStrategy.rollingUpdate.partition set to
// the first of Partitions, and lowers the partition step by step. At each
// step it waits until every pod with an ordinal at or above the partition
// runs the update revision and is Ready, and checks that the pods below it
// were not touched (same UID, old revision). Partitions that do not end at 0
// leave the StatefulSet staged, old and new serving side by side.
type PartitionedRollout struct {
	Version    string
	Partitions []int32 // e.g. 2, 1, 0 for three replicas
}

// Name describes the disruption.
func (p PartitionedRollout) Name() string {
	s := make([]string, len(p.Partitions))
	for i, n := range p.Partitions {
		s[i] = strconv.Itoa(int(n))
	}
	return "partitioned-rollout-" + p.Version + "-" + strings.Join(s, "-")
}

// Run performs each step and waits for it.
func (p PartitionedRollout) Run(ctx context.Context, env Env) error {
	t := env.Target
	if t.Kind != workload.StatefulSet {
		return fmt.Errorf("partitioned rollout of a %q: only StatefulSets have ordinal partitions", t.Kind)
	}
	if p.Version == "" || len(p.Partitions) == 0 {
		return fmt.Errorf("set Version and at least one partition")
	}
	sets := env.Client.AppsV1().StatefulSets(t.Namespace)
	s, err := sets.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := replicas(s.Spec.Replicas)
	for i, n := range p.Partitions {
		if n < 0 || n > want || i > 0 && n > p.Partitions[i-1] {
			return fmt.Errorf("partitions %v: use falling values from %d down to 0", p.Partitions, want)
		}
	}
	before, err := pods(ctx, env)
	if err != nil {
		return err
	}
	uids := map[string]types.UID{}
	for _, pod := range before {
		uids[pod.Name] = pod.UID
	}
	for i, n := range p.Partitions {
		strategy := map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"partition": n}}
		var raw []byte
		if i == 0 {
			raw = TemplatePatch(env.Target, p.Version, map[string]any{"updateStrategy": strategy}, "")
		} else {
			raw, _ = json.Marshal(map[string]any{"spec": map[string]any{"updateStrategy": strategy}})
		}
		env.note("partition_step", fmt.Sprintf("partition %d (%s)", n, p.Version))
		if _, err := sets.Patch(ctx, t.Name, types.StrategicMergePatchType, raw, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("patch statefulset %s: %w", t.Name, err)
		}
		if err := poll(ctx, fmt.Sprintf("wait for partition %d", n), func(ctx context.Context) (string, error) {
			s, err := sets.Get(ctx, t.Name, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			ps, err := pods(ctx, env)
			if err != nil {
				return "", err
			}
			pending, err := PartitionPending(s, ps, n, uids)
			if err != nil {
				return "", kube.Stop(err)
			}
			return pending, nil
		}); err != nil {
			return err
		}
		env.note("partition_done", fmt.Sprintf("partition %d", n))
	}
	env.verified("partitions %v honoured: at each step every pod at or above the partition on the update revision and Ready, every pod below it untouched (same UID, old revision), checked every 250 ms", p.Partitions)
	return nil
}

// PartitionPending says what a partition step still waits for ("" when
// done): the controller caught up, pods at or above the partition on the
// update revision and Ready. A pod below the partition that was replaced or
// updated is an error, not a wait: the partition was not honoured.
func PartitionPending(s *appsv1.StatefulSet, ps []corev1.Pod, partition int32, uids map[string]types.UID) (string, error) {
	st := s.Status
	if st.ObservedGeneration < s.Generation {
		return fmt.Sprintf("observedGeneration %d < generation %d", st.ObservedGeneration, s.Generation), nil
	}
	want := replicas(s.Spec.Replicas)
	var pending []string
	seen := 0
	for i := range ps {
		pod := &ps[i]
		ord, ok := ordinal(pod)
		if !ok || ord >= want {
			continue
		}
		seen++
		rev := pod.Labels[appsv1.ControllerRevisionHashLabelKey]
		if ord < partition {
			if uids[pod.Name] != "" && pod.UID != uids[pod.Name] || rev == st.UpdateRevision && st.UpdateRevision != st.CurrentRevision {
				return "", fmt.Errorf("pod %s (ordinal %d, below partition %d) was replaced or updated", pod.Name, ord, partition)
			}
			continue
		}
		switch {
		case rev != st.UpdateRevision:
			pending = append(pending, fmt.Sprintf("%s on revision %s, not %s", pod.Name, rev, st.UpdateRevision))
		case pod.DeletionTimestamp != nil:
			pending = append(pending, pod.Name+" terminating")
		case !podReady(pod):
			pending = append(pending, pod.Name+" not ready")
		}
	}
	if seen < int(want) {
		pending = append(pending, fmt.Sprintf("%d of %d pods exist", seen, want))
	}
	return strings.Join(pending, "; "), nil
}

// ordinal is a StatefulSet pod's index: its pod-index label, or its name's suffix.
func ordinal(p *corev1.Pod) (int32, bool) {
	s, ok := p.Labels[appsv1.PodIndexLabel]
	if !ok {
		i := strings.LastIndexByte(p.Name, '-')
		if i < 0 {
			return 0, false
		}
		s = p.Name[i+1:]
	}
	n, err := strconv.ParseInt(s, 10, 32)
	return int32(n), err == nil
}
