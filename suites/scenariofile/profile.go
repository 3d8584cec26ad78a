package scenariofile

import (
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/workload"
)

// PreStopHTTPGet is how a preStop httpGet hook is recorded: the fixture
// never has one, so the fixtures' vocabulary does not name it, and how long
// the request keeps the pod is the app's business.
const PreStopHTTPGet fixtures.PreStopKind = "httpGet"

// Kubernetes' defaults for what a manifest may leave out.
const (
	defaultGraceSeconds      = 30
	defaultProbePeriod       = 10
	defaultFailureThreshold  = 3
	defaultDeploymentSurge   = "25%"
	defaultDeploymentUnavail = "25%"
	defaultStatefulUnavail   = "1"
	defaultCloneSetSurge     = "0"
	defaultCloneSetUnavail   = "20%"
)

// recordProfile records the graceful-shutdown settings of the controller's
// app container, as the outcome reports a fixture's profile: the preStop
// hook and its length when it can be read, the grace period, the readiness
// probe, the rollout strategy (with Kubernetes' defaults where the manifest
// has none, as the API server fills them), the replicas. What the app does
// on SIGTERM cannot be read from a manifest: OnTerm stays "" (unknown).
func recordProfile(f *File, ctl *controller) fixtures.Profile {
	s := f.Spec
	p := fixtures.Profile{
		Name:         f.Metadata.Name,
		GraceSeconds: defaultGraceSeconds,
		Replicas:     ctl.replicas,
		Expect:       s.Expect, ExpectKeepAlive: s.ExpectKeepAlive,
		Why: s.Why, WhyKeepAlive: s.WhyKeepAlive,
	}
	if g := ctl.spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		p.GraceSeconds = *g
	}
	p.PreStop, p.PreStopSeconds = recordPreStop(ctl.container)
	if r := ctl.container.ReadinessProbe; r != nil {
		p.Readiness = &fixtures.Readiness{PeriodSeconds: r.PeriodSeconds, FailureThreshold: r.FailureThreshold}
		if p.Readiness.PeriodSeconds == 0 {
			p.Readiness.PeriodSeconds = defaultProbePeriod
		}
		if p.Readiness.FailureThreshold == 0 {
			p.Readiness.FailureThreshold = defaultFailureThreshold
		}
	}
	p.Strategy = recordStrategy(ctl)
	return p
}

// recordPreStop reads the container's preStop hook: none, the sleep
// action, or an exec of sleep N (directly, or through sh -c "sleep N");
// another exec is recorded as exec with no length, an httpGet as httpGet.
func recordPreStop(c corev1.Container) (fixtures.PreStopKind, int) {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return fixtures.PreStopNone, 0
	}
	h := c.Lifecycle.PreStop
	switch {
	case h.Sleep != nil:
		return fixtures.PreStopSleepA, int(h.Sleep.Seconds)
	case h.Exec != nil:
		return fixtures.PreStopExec, sleepSeconds(h.Exec.Command)
	case h.HTTPGet != nil:
		return PreStopHTTPGet, 0
	}
	return fixtures.PreStopNone, 0
}

// sleepSeconds reads N from sleep N, /bin/sleep N, busybox sleep N or a
// shell's -c "sleep N" (0 when the command is something else).
func sleepSeconds(cmd []string) int {
	if len(cmd) == 3 && cmd[1] == "-c" && isShell(path.Base(cmd[0])) {
		cmd = strings.Fields(cmd[2])
	}
	if len(cmd) == 3 && path.Base(cmd[0]) == "busybox" {
		cmd = cmd[1:]
	}
	if len(cmd) != 2 || path.Base(cmd[0]) != "sleep" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSuffix(cmd[1], "s"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isShell(name string) bool {
	switch name {
	case "sh", "bash", "ash", "dash", "zsh":
		return true
	}
	return false
}

// recordStrategy reads the rollout strategy, with the defaults the API
// server (or OpenKruise's webhook) fills in.
func recordStrategy(ctl *controller) fixtures.Strategy {
	st := fixtures.Strategy{MinReadySeconds: ctl.spec.MinReadySeconds}
	str := func(v *intstr.IntOrString, def string) string {
		if v == nil {
			return def
		}
		return v.String()
	}
	switch ctl.kind {
	case workload.Deployment:
		if d := ctl.spec.ProgressDeadlineSeconds; d != nil {
			st.ProgressDeadlineSeconds = *d
		}
		ds := ctl.spec.Strategy
		if ds != nil && ds.Type == "Recreate" {
			// every old pod goes before any new one starts
			st.MaxSurge, st.MaxUnavailable = "0", "100%"
			break
		}
		st.MaxSurge, st.MaxUnavailable = defaultDeploymentSurge, defaultDeploymentUnavail
		if ds != nil && ds.RollingUpdate != nil {
			st.MaxSurge = str(ds.RollingUpdate.MaxSurge, defaultDeploymentSurge)
			st.MaxUnavailable = str(ds.RollingUpdate.MaxUnavailable, defaultDeploymentUnavail)
		}
	case workload.StatefulSet:
		// a StatefulSet never surges
		st.MaxUnavailable = defaultStatefulUnavail
		if us := ctl.spec.UpdateStrategy; us != nil && us.RollingUpdate != nil {
			st.MaxUnavailable = str(us.RollingUpdate.MaxUnavailable, defaultStatefulUnavail)
		}
	case workload.CloneSet:
		st.MaxSurge, st.MaxUnavailable = defaultCloneSetSurge, defaultCloneSetUnavail
		if us := ctl.spec.UpdateStrategy; us != nil {
			st.MaxSurge = str(us.MaxSurge, defaultCloneSetSurge)
			st.MaxUnavailable = str(us.MaxUnavailable, defaultCloneSetUnavail)
			if ip := us.InPlaceUpdateStrategy; ip != nil {
				st.InPlaceGraceSeconds = ip.GracePeriodSeconds
			}
		}
	}
	return st
}
