package scenariofile

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goodFile is a valid scenario file; goodApp its manifests. Each test case
// changes one thing in them.
const goodFile = `apiVersion: zerodrop.dev/v1alpha1
kind: Scenario
metadata:
  name: shop
spec:
  manifests: [app.yaml]
  target:
    service: shop
    port: 80
  controller:
    kind: Deployment
    name: shop
  disruptions: [rolling-update, evict]
  load:
    rate: 50
  expect: pass
`

const goodApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      terminationGracePeriodSeconds: 40
      containers:
      - name: app
        image: shop:v1
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 2
        lifecycle:
          preStop:
            exec:
              command: [sh, -c, "sleep 7"]
      - name: sidecar
        image: proxy:v1
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: http}]
`

// replace replaces old (which must be there) with new in s.
func replace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("test case: %q is not in\n%s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// writeFiles writes files (name → content) into a new directory and returns
// the path of its zerodrop.yaml.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "zerodrop.yaml")
}

// dockerArchive is a minimal docker image archive: what matters here is
// its manifest.json.
func dockerArchive(t *testing.T, manifestJSON string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, data := range map[string]string{"blobs/sha256/00": "layer", "manifest.json": manifestJSON} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
