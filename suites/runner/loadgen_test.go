package runner

import (
	"testing"

	"github.com/zerodrop/zerodrop/internal/leastpriv"
)

// TestLoadGeneratorHasLeastPrivilege: the in-cluster load generator has no
// API rights (no token) and runs non-root as 65532, unprivileged, read-only,
// with no capabilities, under RuntimeDefault seccomp.
func TestLoadGeneratorHasLeastPrivilege(t *testing.T) {
	p := loadgenPod("zd-test", "zerodrop.local/zerodrop-loadgen:0123456789ab")
	for _, f := range leastpriv.Check(p.Spec, leastpriv.Allow{}) {
		t.Error(f)
	}
	if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
		t.Error("the load generator gets an API token")
	}
}
