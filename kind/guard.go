package kind

import (
	"fmt"
	"os/exec"
	"strings"

	kindexec "sigs.k8s.io/kind/pkg/exec"
)

// serviceSubnet is the Service subnet of kind's clusters (kind's default;
// zerodrop's Spec does not change it).
const serviceSubnet = "10.96.0.0/16"

// guardComment names the host's firewall rule that guardServiceSubnet adds.
const guardComment = "zerodrop: a ClusterIP never leaves a kind node"

// guardRule is the rule's specification in the DOCKER-USER chain, which
// Docker consults for traffic it forwards from its networks: a packet from
// the kind network (its IPv4 subnet) to a ClusterIP is refused at the host.
func guardRule(kindSubnet string) []string {
	return []string{"DOCKER-USER", "-s", kindSubnet, "-d", serviceSubnet, "-m", "comment", "--comment", guardComment, "-j", "REJECT"}
}

// kindSubnet is the IPv4 subnet of Docker's network "kind", which every
// kind cluster of this host shares.
func kindSubnet() (string, error) {
	out, err := kindexec.Output(kindexec.Command("docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}"))
	if err != nil {
		return "", fmt.Errorf("kind: the kind network's subnet: %w", withOutput(err))
	}
	for _, s := range strings.Fields(string(out)) {
		if !strings.Contains(s, ":") {
			return s, nil
		}
	}
	return "", fmt.Errorf("kind: the kind network has no IPv4 subnet (%q)", strings.TrimSpace(string(out)))
}

// guardServiceSubnet makes the host refuse a packet that leaves a kind node
// for a ClusterIP. A node sends one out only when kube-proxy has not yet
// written the Service's rules there: a pod's first connection to a Service
// created a second earlier followed the node's default route through the
// host and out of the machine, and an HTTP server somewhere beyond it
// answered 404 on the kept-alive connection for a whole minute
// (bench-matrix-6, sleep-action's drain cell, not warm). Refused at the
// host, the connection fails as the Service's own REJECT rule would make
// it, and nothing leaves the machine. The rule is kept while any kind
// cluster of this host runs (Down removes it with the last one); without
// iptables or Docker's DOCKER-USER chain (Docker Desktop, rootless) it is
// skipped, and said.
func (c *Cluster) guardServiceSubnet() {
	rule, err := hostRule()
	if err != nil {
		c.log.Warn("no host rule keeps ClusterIP traffic on this machine: a node's packet to a ClusterIP that kube-proxy has not programmed yet may leave it", "subnet", serviceSubnet, "err", err)
		return
	}
	if iptables("-C", rule) == nil {
		return // already there
	}
	if err := iptables("-I", rule); err != nil {
		c.log.Warn("could not add the host rule that keeps ClusterIP traffic on this machine", "err", err)
		return
	}
	c.log.Debug("host rule added", "rule", strings.Join(rule, " "))
}

// unguardServiceSubnet removes the rule when no kind cluster runs any more.
func unguardServiceSubnet(remaining []string) error {
	if len(remaining) > 0 {
		return nil
	}
	rule, err := hostRule()
	if err != nil {
		return nil // no iptables, or no kind network left: no rule either
	}
	for range 10 {
		if iptables("-C", rule) != nil {
			return nil
		}
		if err := iptables("-D", rule); err != nil {
			return fmt.Errorf("kind: remove the host rule %q: %w", guardComment, err)
		}
	}
	return nil
}

// hostRule is the guard's rule for this host's kind network; an error when
// the host has no iptables or no kind network.
func hostRule() ([]string, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, err
	}
	src, err := kindSubnet()
	if err != nil {
		return nil, err
	}
	return guardRule(src), nil
}

// iptables runs one operation (-C, -I, -D) on rule; a failure carries its output.
func iptables(op string, rule []string) error {
	return withOutput(kindexec.Command("iptables", append([]string{op}, rule...)...).Run())
}
