package kind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// Entry is where host-side load enters the cluster for one port mapping.
type Entry struct {
	Name string // the mapping's name: nodeport, ingress, gateway
	Addr string // host:port
	// Direct is true when Addr is the control-plane node's own address on
	// the kind network, false for the 127.0.0.1 port mapping.
	Direct bool
}

// Entries returns where host-side load should enter for each port mapping:
// the control-plane node's address on the kind network and the node port
// itself, when this host reaches it (Linux), so that the load does not go
// through Docker's userland proxy behind the 127.0.0.1 mappings — a
// process of its own that, on two cores, takes a third of a core at 500
// requests per second and fails requests no shutdown race explains. Where
// node addresses are unreachable (Docker Desktop), the 127.0.0.1 mappings
// are used and Direct is false: the proxy is then part of the path.
func (c *Cluster) Entries(ctx context.Context) ([]Entry, error) {
	if !c.IsKind() {
		// no node this host reaches: load enters in-cluster only
		return nil, nil
	}
	if c.External {
		return c.externalEntries(ctx)
	}
	ip, err := c.controlPlaneIP()
	var out []Entry
	for _, m := range c.Spec.PortMappings {
		direct := net.JoinHostPort(ip, strconv.Itoa(int(m.ContainerPort)))
		if err == nil && ip != "" && reachable(ctx, direct) {
			out = append(out, Entry{Name: m.Name, Addr: direct, Direct: true})
			continue
		}
		out = append(out, Entry{Name: m.Name, Addr: net.JoinHostPort(Loopback, strconv.Itoa(int(m.HostPort)))})
	}
	return out, nil
}

// controlPlaneIP is the control-plane node's IPv4 address on the kind network.
func (c *Cluster) controlPlaneIP() (string, error) {
	ns, err := c.Nodes()
	if err != nil {
		return "", err
	}
	cp, err := nodeutils.ControlPlaneNodes(ns)
	if err != nil || len(cp) == 0 {
		return "", fmt.Errorf("kind: no control-plane node in %s: %v", c.Spec.Name, err)
	}
	ip, _, err := cp[0].IP()
	if err != nil {
		return "", fmt.Errorf("kind: address of %s: %w", cp[0], err)
	}
	return ip, nil
}

// reachable reports whether a TCP connection to addr opens within a second.
// A node port with no Service behind it refuses: that still proves the
// address is reachable; only a timeout or an unreachable network does not.
func reachable(ctx context.Context, addr string) bool {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
