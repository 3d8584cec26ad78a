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
	if _, err := exec.LookPath("iptables"); err != nil {
		c.log.Warn("no iptables on this host: a node's packet to a ClusterIP that kube-proxy has not programmed yet may leave the machine", "subnet", serviceSubnet)
		return
	}
	src, err := kindSubnet()
	if err != nil {
		c.log.Warn("could not add the host rule that keeps ClusterIP traffic on this machine", "err", err)
		return
	}
	rule := guardRule(src)
	if err := kindexec.Command("iptables", append([]string{"-C"}, rule...)...).Run(); err == nil {
		return // already there
	}
	if err := kindexec.Command("iptables", append([]string{"-I"}, rule...)...).Run(); err != nil {
		c.log.Warn("could not add the host rule that keeps ClusterIP traffic on this machine", "err", withOutput(err))
		return
	}
	c.log.Debug("host rule added", "rule", strings.Join(rule, " "))
}

// unguardServiceSubnet removes the rule when no kind cluster runs any more.
func unguardServiceSubnet(remaining []string) error {
	if len(remaining) > 0 {
		return nil
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil
	}
	src, err := kindSubnet()
	if err != nil {
		return nil // no kind network left: Docker removed it, and its rules' meaning
	}
	rule := guardRule(src)
	for range 10 {
		if kindexec.Command("iptables", append([]string{"-C"}, rule...)...).Run() != nil {
			return nil
		}
		if err := kindexec.Command("iptables", append([]string{"-D"}, rule...)...).Run(); err != nil {
			return fmt.Errorf("kind: remove the host rule %q: %w", guardComment, withOutput(err))
		}
	}
	return nil
}
