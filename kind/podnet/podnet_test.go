package podnet

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConflist(t *testing.T) {
	b, err := Conflist([]string{"10.244.1.0/24"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Plugins []struct {
			Type string
			IPAM struct {
				Ranges [][]struct{ Subnet string }
			}
		}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Plugins) != 2 || c.Plugins[0].Type != "ptp" || c.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins %+v", c.Plugins)
	}
	if c.Plugins[0].IPAM.Ranges[0][0].Subnet != "10.244.1.0/24" {
		t.Fatalf("ranges %+v", c.Plugins[0].IPAM.Ranges)
	}
	if _, err := Conflist(nil, 0); err == nil {
		t.Fatal("want error without podCIDR")
	}
	if _, err := Conflist([]string{"nope"}, 0); err == nil {
		t.Fatal("want error for a bad CIDR")
	}
}

func TestRoutesSkipSelfAndMatchFamily(t *testing.T) {
	nodes := []Node{
		{Name: "cp", InternalIPs: []string{"172.18.0.2"}, PodCIDRs: []string{"10.244.0.0/24"}},
		{Name: "w1", InternalIPs: []string{"fc00::3", "172.18.0.3"}, PodCIDRs: []string{"10.244.1.0/24"}},
		{Name: "w2", InternalIPs: []string{"172.18.0.4"}}, // no podCIDR yet
	}
	got := Routes("cp", nodes)
	if len(got) != 1 || got[0].Dst.String() != "10.244.1.0/24" || got[0].Gateway.String() != "172.18.0.3" || got[0].Node != "w1" {
		t.Fatalf("routes %+v", got)
	}
	if r := Routes("w1", nodes); len(r) != 1 || r[0].Gateway.String() != "172.18.0.2" {
		t.Fatalf("routes from w1 %+v", r)
	}
}

func TestMasqueradeRulesAndManifest(t *testing.T) {
	r, err := MasqueradeRules("10.244.0.0/16")
	if err != nil || len(r) != 4 || r[0][0] != "POSTROUTING" || r[len(r)-1][len(r[len(r)-1])-1] != "MASQUERADE" {
		t.Fatalf("%v %v", r, err)
	}
	if _, err := MasqueradeRules("10.244.0.0"); err == nil {
		t.Fatal("want error for a subnet without a length")
	}
	m := Manifest("zerodrop.local/podnet:v1")
	for _, want := range []string{"image: zerodrop.local/podnet:v1", "would you kindly template this file", "would you kindly patch this file", "{{ .PodSubnet }}", "imagePullPolicy: Never"} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}
}
