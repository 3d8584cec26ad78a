package kind_test

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/drain"

	"github.com/zerodrop/zerodrop/internal/itest"
	"github.com/zerodrop/zerodrop/kind"
)

// TestClusterTrafficAndDrain proves the cluster the way a workload meets it
// (kind.CheckTraffic: a pod on each worker behind a NodePort answers on
// 127.0.0.1, pods reach each other across nodes, CoreDNS resolves the
// Service), then drains a worker with kubectl's drain library and sees the
// pods come back on the other worker, which then answers.
func TestClusterTrafficAndDrain(t *testing.T) {
	it := itest.Start(t, 10*time.Minute, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	ctx, c, cs := it.Ctx, it.Cluster, it.Client
	tc, err := c.CheckTraffic(ctx, it.Image, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Services(tc.Namespace).Delete(context.Background(), kind.SmokeName, metav1.DeleteOptions{})
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), tc.Namespace, metav1.DeleteOptions{})
	})
	t.Logf("NodePort answered from %v", tc.Answers)

	// a packet from a node to a ClusterIP kube-proxy has not programmed yet
	// is refused at the host instead of leaving the machine
	if rules, err := exec.Command("iptables", "-S", "DOCKER-USER").CombinedOutput(); err != nil {
		t.Fatalf("iptables -S DOCKER-USER: %v\n%s", err, rules)
	} else if !strings.Contains(string(rules), "-d 10.96.0.0/16") || !strings.Contains(string(rules), "a ClusterIP never leaves a kind node") || !strings.Contains(string(rules), "-j REJECT") {
		t.Errorf("the host's DOCKER-USER chain has no rule refusing ClusterIP traffic from the kind network:\n%s", rules)
	}

	// the cluster's DNS runs where no drain goes: a drained worker takes no
	// CoreDNS pod with it (the in-cluster clients resolve through it)
	dns, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dns.Items) == 0 {
		t.Fatal("no CoreDNS pod")
	}
	for _, p := range dns.Items {
		n, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; !cp {
			t.Errorf("CoreDNS pod %s runs on %s, not on the control-plane node: a worker's drain would evict it", p.Name, n.Name)
		}
	}

	drained, other := tc.Pods[0].Spec.NodeName, tc.Pods[1].Spec.NodeName
	node, err := cs.CoreV1().Nodes().Get(ctx, drained, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	helper := &drain.Helper{Ctx: ctx, Client: cs, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true,
		DeleteEmptyDirData: true, Timeout: 2 * time.Minute, Out: &out, ErrOut: &out}
	t.Cleanup(func() {
		if n, err := cs.CoreV1().Nodes().Get(context.Background(), drained, metav1.GetOptions{}); err == nil {
			h := *helper
			h.Ctx = context.Background()
			_ = drain.RunCordonOrUncordon(&h, n, false)
		}
	})
	start := time.Now()
	if err := drain.RunCordonOrUncordon(helper, node, true); err != nil {
		t.Fatal(err)
	}
	if err := drain.RunNodeDrain(helper, drained); err != nil {
		t.Fatalf("drain %s: %v\n%s", drained, err, out.String())
	}
	t.Logf("drained %s in %s", drained, time.Since(start).Round(time.Millisecond))
	after, err := kind.WaitPods(ctx, cs, tc.Namespace, len(tc.Pods))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range after {
		if p.Spec.NodeName != other {
			t.Fatalf("after draining %s, pod %s runs on %s, want %s", drained, p.Name, p.Spec.NodeName, other)
		}
		want[p.Name] = true
	}
	seen, err := kind.NodePortAnswers(ctx, kind.DefaultPortMappings[0].HostPort, want)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the drain NodePort answered from %v", seen)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
