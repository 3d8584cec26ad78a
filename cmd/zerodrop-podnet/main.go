// Command zerodrop-podnet is the pod network daemon of air-gapped kind
// clusters (see package kind/podnet). It runs as a hostNetwork DaemonSet.
package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/zerodrop/zerodrop/kind/podnet"
)

// routeProtocol marks the routes this daemon owns, so stale ones can be removed.
const routeProtocol = netlink.RouteProtocol(0x5a)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("zerodrop-podnet failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	self := os.Getenv("NODE_NAME")
	if self == "" {
		return fmt.Errorf("podnet: NODE_NAME is not set (downward API spec.nodeName)")
	}
	cniDir := envOr("CNI_CONFIG_DIR", "/etc/cni/net.d")
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("podnet: %w", err)
	}
	// kind patches the control-plane endpoint in so the network does not wait for kube-proxy.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("podnet: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if subnet := os.Getenv("POD_SUBNET"); subnet != "" {
		if err := ensureMasquerade(subnet); err != nil {
			return err
		}
		log.Info("masquerade ensured", "podSubnet", subnet)
	}

	factory := informers.NewSharedInformerFactory(cs, 10*time.Minute)
	nodeInformer := factory.Core().V1().Nodes()
	kick := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: notify, DeleteFunc: notify, UpdateFunc: func(_, n any) { notify(n) },
	})
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodeInformer.Informer().HasSynced) {
		return fmt.Errorf("podnet: node informer did not sync")
	}
	resync := time.NewTicker(30 * time.Second)
	defer resync.Stop()
	for {
		list, err := nodeInformer.Lister().List(labels.Everything())
		if err == nil {
			if err := reconcile(log, self, cniDir, list); err != nil {
				log.Error("reconcile", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-resync.C:
		}
	}
}

func reconcile(log *slog.Logger, self, cniDir string, list []*corev1.Node) error {
	nodes := make([]podnet.Node, 0, len(list))
	var mine *podnet.Node
	for _, n := range list {
		pn := podnet.Node{Name: n.Name, PodCIDRs: n.Spec.PodCIDRs}
		if len(pn.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
			pn.PodCIDRs = []string{n.Spec.PodCIDR}
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				pn.InternalIPs = append(pn.InternalIPs, a.Address)
			}
		}
		nodes = append(nodes, pn)
		if n.Name == self {
			mine = &nodes[len(nodes)-1]
		}
	}
	if mine != nil && len(mine.PodCIDRs) > 0 {
		conf, err := podnet.Conflist(mine.PodCIDRs, 0)
		if err != nil {
			return err
		}
		if changed, err := writeIfChanged(filepath.Join(cniDir, podnet.ConfigFile), conf); err != nil {
			return err
		} else if changed {
			log.Info("wrote CNI config", "podCIDRs", mine.PodCIDRs)
		}
	}
	return syncRoutes(log, podnet.Routes(self, nodes))
}

func syncRoutes(log *slog.Logger, want []podnet.Route) error {
	wanted := map[string]bool{}
	for _, r := range want {
		_, dst, err := net.ParseCIDR(r.Dst.String())
		if err != nil {
			return err
		}
		nr := &netlink.Route{Dst: dst, Gw: net.IP(r.Gateway.AsSlice()), Protocol: routeProtocol}
		if err := netlink.RouteReplace(nr); err != nil {
			return fmt.Errorf("podnet: route %s via %s: %w", r.Dst, r.Gateway, err)
		}
		wanted[dst.String()] = true
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		have, err := netlink.RouteListFiltered(fam, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return fmt.Errorf("podnet: list routes: %w", err)
		}
		for _, r := range have {
			if r.Dst != nil && !wanted[r.Dst.String()] {
				if err := netlink.RouteDel(&r); err != nil {
					return fmt.Errorf("podnet: delete stale route %s: %w", r.Dst, err)
				}
				log.Info("deleted stale route", "dst", r.Dst.String())
			}
		}
	}
	return nil
}

func ensureMasquerade(subnet string) error {
	rules, err := podnet.MasqueradeRules(subnet)
	if err != nil {
		return err
	}
	ipt := func(args ...string) error {
		out, err := exec.Command("iptables", append([]string{"-w", "5", "-t", "nat"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("podnet: iptables %v: %w: %s", args, err, bytes.TrimSpace(out))
		}
		return nil
	}
	if err := ipt("-L", podnet.Chain, "-n"); err != nil {
		if err := ipt("-N", podnet.Chain); err != nil {
			return err
		}
	}
	for _, r := range rules {
		if ipt(append([]string{"-C"}, r...)...) == nil {
			continue
		}
		if err := ipt(append([]string{"-A"}, r...)...); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, fmt.Errorf("podnet: %w", err)
	}
	return true, os.Rename(tmp, path)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
