package factory

import (
	"strings"
	"testing"
)

// kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns) uses these; a
// CoreDNS built without one of them fails every kind cluster's DNS.
var kubeadmCorefilePlugins = map[string]string{
	"errors": "errors", "health": "health", "ready": "ready", "kubernetes": "kubernetes",
	"prometheus": "metrics", "forward": "forward", "cache": "cache", "loop": "loop",
	"reload": "reload", "loadbalance": "loadbalance",
}

func TestCoreDNSIsBuiltWithEveryPluginOfKubeadmsCorefile(t *testing.T) {
	main := corednsMain()
	for directive, pkg := range kubeadmCorefilePlugins {
		if !strings.Contains(main, `"github.com/coredns/coredns/plugin/`+pkg+`"`) {
			t.Errorf("the CoreDNS main does not import the %s plugin (directive %q) kubeadm's Corefile uses", pkg, directive)
		}
	}
	for _, heavy := range []string{"route53", "azure", "clouddns", "etcd", "nomad", "trace", "dnstap", "geoip", "grpc", "quic", "view"} {
		if strings.Contains(main, `/plugin/`+heavy+`"`) {
			t.Errorf("the CoreDNS main imports %s, left out for its build cost", heavy)
		}
	}
	if strings.Contains(main, "coredns/core/plugin") {
		t.Error("the CoreDNS main imports core/plugin, which imports every plugin")
	}
}

func TestOnlyAComponentWithItsOwnMainChangesItsSource(t *testing.T) {
	for _, c := range components(Default, "2026-01-01T00:00:00Z") {
		name, content := c.source()
		if c.MainGo == "" && (name != "tools.go" || content != c.toolsGo()) {
			t.Errorf("%s: source %s, want tools.go as before (its cache key would change)", c.Name, name)
		}
		if c.MainGo != "" && (name != "main.go" || len(c.Packages) != 1 || c.Packages[0] != "zerodrop.local/factory/"+c.Name) {
			t.Errorf("%s: a wrapper with its own main builds the wrapper module's package; got %s, %v", c.Name, name, c.Packages)
		}
		if got := c.files("1.26"); len(got) != 3 || got[name] != content {
			t.Errorf("%s: wrapper files %v", c.Name, got)
		}
	}
}
