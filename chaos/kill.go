package chaos

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KillContainer is an ungraceful control: it kills the app container of
// the workload's first pod with SIGKILL on its node (crictl stop with no grace
// period), with no preStop, no SIGTERM and no endpoint removal first — what an
// OOM kill or a crash looks like. It waits until the kubelet has restarted the
// container and the pod is Ready again.
type KillContainer struct {
	Container string // default: the workload's container
}

// Name describes the disruption.
func (KillContainer) Name() string { return "kill-container" }

// Run kills and waits.
func (k KillContainer) Run(ctx context.Context, env Env) error {
	if env.NodeExec == nil {
		return fmt.Errorf("needs to run commands on the nodes (a kind cluster)")
	}
	name := k.Container
	if name == "" {
		name = env.Target.Container
	}
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return fmt.Errorf("the workload has no pods")
	}
	p := ps[0]
	id, restarts, err := ContainerID(&p, name)
	if err != nil {
		return err
	}
	env.note("container_sigkill", p.Name+" on "+p.Spec.NodeName)
	if err := env.NodeExec(ctx, p.Spec.NodeName, "crictl", "stop", "--timeout", "0", id); err != nil {
		return fmt.Errorf("crictl stop on %s: %w", p.Spec.NodeName, err)
	}
	return poll(ctx, "wait for the container to be restarted", func(ctx context.Context) (string, error) {
		cur, err := env.Client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		_, now, err := ContainerID(cur, name)
		if err != nil {
			return "", err
		}
		switch {
		case now <= restarts:
			return fmt.Sprintf("%s restart count still %d", p.Name, now), nil
		case !podReady(cur):
			return p.Name + " not ready again", nil
		}
		env.verified("container %s of %s killed with SIGKILL and restarted in place (restart count %d → %d), Ready again", name, p.Name, restarts, now)
		return "", nil
	})
}

// ContainerID returns the runtime ID (without the runtime:// prefix) and the
// restart count of a pod's container.
func ContainerID(p *corev1.Pod, container string) (string, int32, error) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		_, id, ok := strings.Cut(cs.ContainerID, "://")
		if !ok || id == "" {
			return "", cs.RestartCount, fmt.Errorf("pod %s: container %s has no runtime ID yet", p.Name, container)
		}
		return id, cs.RestartCount, nil
	}
	return "", 0, fmt.Errorf("pod %s has no container %s", p.Name, container)
}
