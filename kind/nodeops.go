package kind

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

// node finds one of the cluster's node containers by its Kubernetes node name.
func (c *Cluster) node(name string) (nodes.Node, error) {
	ns, err := c.Nodes()
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		if n.String() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("kind: no node %s in cluster %s", name, c.Spec.Name)
}

// NodeExec runs a command in a node container; its output is in the error
// when it fails. It fits chaos.Env.NodeExec.
func (c *Cluster) NodeExec(ctx context.Context, node string, args ...string) error {
	if len(args) == 0 {
		return fmt.Errorf("kind: node exec on %s: no command", node)
	}
	n, err := c.node(node)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd := n.CommandContext(ctx, args[0], args[1:]...)
	cmd.SetStdout(&out)
	cmd.SetStderr(&out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kind: %s on %s: %w: %s", strings.Join(args, " "), node, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// NodeFreeze stops every process of a node container at once (docker pause:
// the cgroup freezer) or lets them go on (unpause). The container keeps its
// address and state, unlike a killed and restarted one. It fits
// chaos.Env.NodeFreeze.
func (c *Cluster) NodeFreeze(ctx context.Context, node string, frozen bool) error {
	if _, err := c.node(node); err != nil {
		return err
	}
	verb := "unpause"
	if frozen {
		verb = "pause"
	}
	if out, err := kindexec.CombinedOutputLines(kindexec.CommandContext(ctx, "docker", verb, node)); err != nil {
		return fmt.Errorf("kind: docker %s %s: %w: %s", verb, node, err, strings.Join(out, " "))
	}
	return nil
}
