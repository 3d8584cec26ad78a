package capfilter

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// CapBnd of these VMs: everything up to CAP_CHECKPOINT_RESTORE but CAP_SYS_RESOURCE.
const vmStatus = "Name:\tcat\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"

func vmSet(t *testing.T) Set {
	t.Helper()
	s, err := ParseStatus(vmStatus)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseStatusAndMissing(t *testing.T) {
	s := vmSet(t)
	if got := s.Missing(40); !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("missing = %v", got)
	}
	if s.Has("CAP_SYS_RESOURCE") || !s.Has("CAP_SYS_ADMIN") || !s.Has("CAP_FUTURE_THING") {
		t.Fatal("Has is wrong")
	}
	if _, err := ParseStatus("Name: x\n"); err == nil {
		t.Fatal("want error without CapBnd")
	}
}

func TestFilterBundleConfigKeepsEverythingElse(t *testing.T) {
	all := `["CAP_CHOWN","CAP_SYS_ADMIN","CAP_SYS_RESOURCE","CAP_NET_ADMIN"]`
	in := `{"ociVersion":"1.2.0","process":{"args":["/sbin/init"],"capabilities":{"bounding":` + all +
		`,"effective":` + all + `,"permitted":` + all + `},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1048576,"soft":1048576}]},` +
		`"linux":{"resources":{"memory":{"limit":9223372036854771712}}}}`
	out, changed, err := Filter([]byte(in), vmSet(t))
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if strings.Contains(string(out), "CAP_SYS_RESOURCE") {
		t.Fatalf("CAP_SYS_RESOURCE kept: %s", out)
	}
	for _, keep := range []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "9223372036854771712", `"/sbin/init"`, "RLIMIT_NOFILE"} {
		if !strings.Contains(string(out), keep) {
			t.Errorf("lost %s: %s", keep, out)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	eff := doc["process"].(map[string]any)["capabilities"].(map[string]any)["effective"].([]any)
	if len(eff) != 3 {
		t.Errorf("effective = %v", eff)
	}
}

func TestFilterProcessSpecAndNoop(t *testing.T) {
	in := `{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"],"ambient":[]}}`
	out, changed, err := Filter([]byte(in), vmSet(t))
	if err != nil || !changed || strings.Contains(string(out), "CAP_SYS_RESOURCE") || !strings.Contains(string(out), "CAP_KILL") {
		t.Fatalf("changed=%v err=%v out=%s", changed, err, out)
	}
	plain := `{"args":["sh"],"capabilities":{"bounding":["CAP_KILL"]}}`
	out, changed, err = Filter([]byte(plain), vmSet(t))
	if err != nil || changed || string(out) != plain {
		t.Fatalf("a spec with nothing to remove must stay as it is: changed=%v out=%s", changed, out)
	}
	if _, _, err := Filter([]byte("{"), vmSet(t)); err == nil {
		t.Fatal("want a parse error")
	}
}

func TestSpecFiles(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--root", "/run/runc", "--log", "/x/log.json", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b/1", "--pid-file", "p", "id"}, []string{"/b/1/config.json"}},
		{[]string{"create", "-b=/b/2/", "id"}, []string{"/b/2/config.json"}},
		{[]string{"run", "id"}, []string{"/cwd/config.json"}},
		{[]string{"--root", "/r", "exec", "--process", "/tmp/runc-process1", "--detach", "id"}, []string{"/tmp/runc-process1"}},
		{[]string{"exec", "id", "sh"}, nil},
		{[]string{"--root", "/r", "state", "id"}, nil},
		{[]string{"--version"}, nil},
	}
	for _, c := range cases {
		if got := SpecFiles(c.args, "/cwd"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SpecFiles(%v) = %v, want %v", c.args, got, c.want)
		}
	}
}
