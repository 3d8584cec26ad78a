// Package podnet is a minimal multi-node pod network for kind clusters built
// without a registry: kind's own kindnetd is not available from the Go module
// proxy, so the air-gapped node image ships this instead. It does what
// kindnetd does for IPv4/IPv6 single-stack clusters on one L2 network (kind's
// docker network):
//
//   - writes the node's CNI config (ptp + host-local on node.spec.podCIDRs + portmap);
//   - routes every other node's pod CIDRs via that node's InternalIP;
//   - masquerades pod traffic leaving the cluster's pod subnet.
//
// The decisions are pure functions (Conflist, Routes, MasqueradeRules); the
// daemon in cmd/zerodrop-podnet applies them with netlink and iptables.
package podnet

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Node is what the pod network needs to know of a node.
type Node struct {
	Name        string
	InternalIPs []string
	PodCIDRs    []string
}

// Route sends Dst via Gateway.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
	Node    string
}

// ConfigFile is where the CNI config goes on the node.
const ConfigFile = "10-zerodrop-podnet.conflist"

// Conflist renders the CNI config for a node's pod CIDRs.
func Conflist(podCIDRs []string, mtu int) ([]byte, error) {
	if len(podCIDRs) == 0 {
		return nil, fmt.Errorf("podnet: node has no podCIDR yet")
	}
	var ranges [][]map[string]string
	routes := []map[string]string{}
	for _, c := range podCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("podnet: podCIDR %q: %w", c, err)
		}
		ranges = append(ranges, []map[string]string{{"subnet": p.Masked().String()}})
		if p.Addr().Is4() {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "::/0"})
		}
	}
	if mtu <= 0 {
		mtu = 1500
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "zerodrop-podnet",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    mtu,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  routes,
					"ranges":  ranges,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// Routes lists the routes the node named self needs: each other node's pod
// CIDRs via its InternalIP of the same family. Nodes without a podCIDR or an
// address yet are skipped (the informer calls again when they get one).
func Routes(self string, nodes []Node) []Route {
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		for _, c := range n.PodCIDRs {
			dst, err := netip.ParsePrefix(c)
			if err != nil {
				continue
			}
			for _, ip := range n.InternalIPs {
				gw, err := netip.ParseAddr(ip)
				if err != nil || gw.Is4() != dst.Addr().Is4() {
					continue
				}
				out = append(out, Route{Dst: dst.Masked(), Gateway: gw, Node: n.Name})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst.String() < out[j].Dst.String() })
	return out
}

// Chain is the nat chain podnet owns.
const Chain = "ZERODROP-PODNET-MASQ"

// MasqueradeRules returns the iptables rule specs (for the nat table) that
// masquerade traffic from the pod subnet to anywhere outside it. The first
// element is the jump from POSTROUTING, the rest go into Chain.
func MasqueradeRules(podSubnet string) ([][]string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(podSubnet))
	if err != nil {
		return nil, fmt.Errorf("podnet: POD_SUBNET %q: %w", podSubnet, err)
	}
	s := p.Masked().String()
	return [][]string{
		{"POSTROUTING", "-s", s, "-m", "comment", "--comment", "zerodrop-podnet: masquerade pod traffic leaving the pod subnet", "-j", Chain},
		{Chain, "-d", s, "-j", "RETURN"},
		{Chain, "-m", "addrtype", "--dst-type", "LOCAL", "-j", "RETURN"},
		{Chain, "-j", "MASQUERADE"},
	}, nil
}

//go:embed manifest.yaml
var manifestTemplate string

// Manifest returns kind's default-CNI manifest for the given podnet image.
// It keeps kind's "would you kindly template/patch this file" markers so kind
// fills in the pod subnet and the control-plane endpoint at create time.
func Manifest(image string) string {
	return strings.ReplaceAll(manifestTemplate, "__IMAGE__", image)
}
