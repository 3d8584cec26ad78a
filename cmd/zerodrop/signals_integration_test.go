package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/outcome"
)

// TestInterruptLeavesNothingBehind sends SIGINT or SIGTERM to `zerodrop
// run` right after a phase ends, and checks what is left: the process ends,
// its outcome is on disk marked incomplete, its namespace is being deleted,
// no node stays cordoned. CI interrupts once, during the disruption (a
// drain: a cordoned node is what an interrupt could leave behind);
// ZERODROP_FAULTS=all interrupts after every phase.
func TestInterruptLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster")
	}
	name := inputs.ClusterName()
	kubeconfig := kind.KubeconfigPath(inputs.DefaultStateDir(), name)
	if _, err := os.Stat(kubeconfig); err != nil {
		t.Skipf("no cluster %s: %v", name, err)
	}
	bin := buildZerodrop(t)
	cs := clientsetOf(t, kubeconfig)
	// after which phase, and how: SIGINT (Ctrl-C) and SIGTERM (a CI runner's stop)
	cases := []struct {
		after string
		sig   syscall.Signal
	}{{"warm", syscall.SIGINT}}
	if os.Getenv("ZERODROP_FAULTS") == "all" {
		cases = []struct {
			after string
			sig   syscall.Signal
		}{{"namespace", syscall.SIGINT}, {"deploy", syscall.SIGTERM}, {"ready", syscall.SIGINT}, {"observe", syscall.SIGTERM},
			{"load", syscall.SIGINT}, {"warm", syscall.SIGTERM}, {"disrupt", syscall.SIGINT}, {"finish", syscall.SIGTERM}, {"settle", syscall.SIGINT}}
	}
	for _, c := range cases {
		t.Run("after-"+c.after, func(t *testing.T) {
			interrupt(t, bin, cs, c.after, c.sig)
		})
	}
}

func interrupt(t *testing.T, bin string, cs kubernetes.Interface, after string, sig syscall.Signal) {
	out := t.TempDir()
	cmd := exec.Command(bin, "run", "-v", "--labels", "gating", "--scenario", "prestop-and-drain/drain-node/deployment", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	sent := false
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.Contains(line, "msg=phase") && strings.Contains(line, "name="+after+" ") {
				sent = true
				cmd.Process.Signal(sig)
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if !sent {
			t.Fatalf("the run ended (%v) before phase %s ended", err, after)
		}
		if err == nil {
			t.Fatal("an interrupted run must not exit 0")
		}
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the interrupted run did not end within 5 minutes")
	}
	outs, err := outcome.LoadDirs(out)
	if err != nil {
		t.Fatal(err)
	}
	o := outs[0]
	if o.Complete || o.Verdict.Result == outcome.Pass {
		t.Fatalf("the interrupted scenario's outcome says complete=%v, %s: it must be incomplete, never a pass", o.Complete, o.Verdict.Result)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Get(ctx, o.Scenario.Namespace, metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Fatalf("namespace %s left behind", o.Scenario.Namespace)
	} else if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable {
			t.Fatalf("node %s left cordoned", n.Name)
		}
	}
}
