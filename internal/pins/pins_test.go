package pins

import (
	"os"
	"strings"
	"testing"
)

// TestDependencyPins guards the versions the project is built and verified
// with: `go mod tidy` resolves a newly imported module to its latest release,
// which silently moved client-go and kubectl away from the cluster's v0.35 once.
func TestDependencyPins(t *testing.T) {
	raw, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod := string(raw)
	for _, pin := range []string{
		"sigs.k8s.io/kind v0.33.0",
		"sigs.k8s.io/e2e-framework v0.7.0",
		"github.com/tsenart/vegeta/v12 v12.12.0",
		"github.com/onsi/ginkgo/v2 v2.34.0",
		"github.com/onsi/gomega v1.44.0",
		"k8s.io/client-go v0.35.4",
		"k8s.io/api v0.35.4",
		"k8s.io/apimachinery v0.35.4",
		"k8s.io/kubectl v0.35.4",
	} {
		if !strings.Contains(mod, "\t"+pin+"\n") && !strings.Contains(mod, "\t"+pin+" // indirect\n") {
			t.Errorf("go.mod does not pin %s (go get it back: `go get %s`)", pin, strings.Replace(pin, " ", "@", 1))
		}
	}
}
