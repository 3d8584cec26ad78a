package dockerd

import (
	"encoding/json"
	"testing"
)

func TestMergeDaemonConfigKeepsOtherSettings(t *testing.T) {
	cfg := map[string]any{
		"log-driver": "json-file",
		"runtimes":   map[string]any{"nvidia": map[string]any{"path": "/usr/bin/nvidia-container-runtime"}},
	}
	out, err := MergeDaemonConfig(cfg, "/opt/zd/zerodrop-runc")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got["default-runtime"] != RuntimeName || got["log-driver"] != "json-file" {
		t.Fatalf("got %s", out)
	}
	rts := got["runtimes"].(map[string]any)
	if rts["nvidia"] == nil || rts[RuntimeName].(map[string]any)["path"] != "/opt/zd/zerodrop-runc" {
		t.Fatalf("runtimes %v", rts)
	}
	if _, err := MergeDaemonConfig(map[string]any{"runtimes": "oops"}, "/x"); err == nil {
		t.Fatal("want an error for a runtimes value that is not an object")
	}
}
