package scenariofile

import (
	"errors"
	"strings"
	"testing"
)

func TestTheGoodFileIsValid(t *testing.T) {
	f, err := Load(writeFiles(t, map[string]string{"zerodrop.yaml": goodFile, "app.yaml": goodApp}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata.Name != "shop" || f.app == nil {
		t.Fatalf("loaded %+v", f)
	}
}

// TestEveryProblemNamesItsPlaceAndFix: each case breaks the good file or its
// manifests in one way; the error must say where and what to do, in these words.
func TestEveryProblemNamesItsPlaceAndFix(t *testing.T) {
	archive := dockerArchive(t, `[{"Config":"c.json","RepoTags":["shop:latest"],"Layers":[]}]`)
	cases := []struct {
		name  string
		file  func(string) string // changes goodFile
		app   func(string) string // changes goodApp
		extra map[string]string
		want  []string
		// problems is how many there are, when not one for each want
		problems int
	}{
		{name: "unknown field",
			file: func(s string) string { return replace(t, s, "rate: 50", "rat: 50") },
			want: []string{"spec.load.rat: unknown field: remove it or check its spelling (fields here: rate, timeout, settle)"}},
		{name: "a field in the wrong case is unknown",
			file: func(s string) string { return replace(t, s, "expect: pass", "expect: pass\n  Expect: fail") },
			want: []string{"spec.Expect: unknown field"}},
		{name: "wrong type",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: fast") },
			want: []string{"spec.load.rate: a string, where a whole number belongs"}},
		{name: "wrong types are all reported, and unknown fields beside them",
			file: func(s string) string {
				return replace(t, replace(t, replace(t, s, "rate: 50", "rate: fast\n    burst: 3"), "port: 80", "port: [80]"), "disruptions: [rolling-update, evict]", "disruptions: evict")
			},
			want: []string{"spec.target.port: a list, where a whole number belongs", "spec.load.rate: a string, where a whole number belongs",
				"spec.disruptions: a string, where a list of strings belongs", "spec.load.burst: unknown field"}},
		{name: "a list item of the wrong type",
			file: func(s string) string { return replace(t, s, "  load:", "  paths: [nodeport, 8080]\n  load:") },
			want: []string{"spec.paths: an item is a number, where a string belongs"}},
		{name: "a field given twice",
			file: func(s string) string { return replace(t, s, "expect: pass", "expect: pass\n  expect: fail") },
			want: []string{`line 17: the file does not parse: key "expect" already set in map`}},
		{name: "missing apiVersion",
			file: func(s string) string { return replace(t, s, "apiVersion: zerodrop.dev/v1alpha1\n", "") },
			want: []string{"apiVersion is missing: use zerodrop.dev/v1alpha1"}},
		{name: "wrong apiVersion",
			file: func(s string) string { return replace(t, s, "zerodrop.dev/v1alpha1", "zerodrop.dev/v1") },
			want: []string{`apiVersion "zerodrop.dev/v1": use zerodrop.dev/v1alpha1`}},
		{name: "wrong kind",
			file: func(s string) string { return replace(t, s, "kind: Scenario", "kind: Scenarios") },
			want: []string{`kind "Scenarios": use Scenario`}},
		{name: "empty name",
			file: func(s string) string { return replace(t, s, "name: shop\nspec", "name: \"\"\nspec") },
			want: []string{"metadata.name is empty: name the workload"}},
		{name: "a name that is no DNS label",
			file: func(s string) string { return replace(t, s, "name: shop\nspec", "name: My Shop\nspec") },
			want: []string{`metadata.name "My Shop": use a DNS label`}},
		{name: "negative rate",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: -5") },
			want: []string{"spec.load.rate -5: use 1 to 20000 requests per second"}},
		{name: "zero rate",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: 0") },
			want: []string{"spec.load.rate 0: use 1 to 20000 requests per second"}},
		{name: "a rate above what the engine holds",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: 50000") },
			want: []string{"spec.load.rate 50000: use 1 to 20000 requests per second"}},
		{name: "zero timeout",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: 50\n    timeout: 0s") },
			want: []string{"spec.load.timeout 0s: use a positive duration"}},
		{name: "a timeout that is no duration",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: 50\n    timeout: 3x") },
			want: []string{`spec.load.timeout: "3x" is not a duration: write it as 3s, 500ms or 1m30s`}},
		{name: "negative settle",
			file: func(s string) string { return replace(t, s, "rate: 50", "rate: 50\n    settle: -1s") },
			want: []string{"spec.load.settle -1s: use 0 or a positive duration such as 10s"}},
		{name: "no port",
			file: func(s string) string { return replace(t, s, "    port: 80\n", "") },
			want: []string{"spec.target.port is missing: give the Service port to load: 80 (http)"}},
		{name: "a port the Service does not have",
			file: func(s string) string { return replace(t, s, "port: 80", "port: 8080") },
			want: []string{"spec.target.port 8080: Service shop has no such port: use 80 (http)"}},
		{name: "a targetPort that names no container port",
			app:  func(s string) string { return replace(t, s, "targetPort: http", "targetPort: web") },
			want: []string{`spec.target.port 80: Service shop sends it to targetPort "web", which names no container port of Deployment shop's pod template`}},
		{name: "a Service not among the manifests",
			file: func(s string) string { return replace(t, s, "service: shop", "service: shopfront") },
			want: []string{`spec.target.service "shopfront": no Service of that name among the manifests (Services there: shop)`}},
		{name: "a Service that selects other pods",
			app: func(s string) string {
				return replace(t, s, "selector: {app: shop}\n  ports", "selector: {app: cart}\n  ports")
			},
			want: []string{"app.yaml:28 (document 2): Service shop: its selector {app=cart} does not select Deployment shop's pods {app=shop}: it would send them no traffic"}},
		{name: "a headless Service",
			app: func(s string) string {
				return replace(t, s, "selector: {app: shop}\n  ports", "clusterIP: None\n  selector: {app: shop}\n  ports")
			},
			want: []string{"Service shop is headless (clusterIP: None): name a Service with a cluster IP"}},
		{name: "a path without its slash",
			file: func(s string) string { return replace(t, s, "port: 80", "port: 80\n    path: healthz") },
			want: []string{`spec.target.path "healthz": start it with /`}},
		{name: "a manifest that does not parse",
			app: func(s string) string {
				return replace(t, s, "  name: shop\nspec:\n  selector", "  name: shop\nspec:\n  selector: [\n  x: y")
			},
			want: []string{"app.yaml:", "(document 2): does not parse:"}, problems: 1},
		{name: "a manifest with a namespace",
			app: func(s string) string {
				return replace(t, s, "  name: shop\nspec:\n  selector", "  name: shop\n  namespace: prod\nspec:\n  selector")
			},
			want: []string{`app.yaml:28 (document 2): Service shop: metadata.namespace "prod": remove it: zerodrop creates every object in a namespace of its own, made for each scenario`}},
		{name: "a cluster-scoped object",
			app:  func(s string) string { return s + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n" },
			want: []string{"app.yaml:36 (document 3): Namespace shop is cluster-scoped (a namespace): remove it and create it before the run", "a cluster-scoped object would outlive that namespace"}, problems: 1},
		{name: "an object without a kind",
			extra: map[string]string{"kustomization.yaml": "resources: [app.yaml]\n"},
			file: func(s string) string {
				return replace(t, s, "manifests: [app.yaml]", "manifests: [app.yaml, kustomization.yaml]")
			},
			want: []string{"kustomization.yaml:1: no apiVersion or kind: every object needs both (a kustomization is not applied as is: render it with kubectl kustomize DIR > manifests.yaml"}},
		{name: "an object defined twice",
			app: func(s string) string {
				return s + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: shop\nspec:\n  selector: {app: shop}\n  ports: [{port: 80}]\n"
			},
			want: []string{"app.yaml:36 (document 3): Service shop is also defined at app.yaml:28 (document 2): keep one"}},
		{name: "a manifests path that does not exist",
			file: func(s string) string { return replace(t, s, "manifests: [app.yaml]", "manifests: [app.yaml, deploy/]") },
			want: []string{`spec.manifests[1] "deploy/": no such file or directory (paths are relative to the scenario file's directory)`}},
		{name: "a manifests directory without manifests",
			extra: map[string]string{"deploy/README.md": "not a manifest"},
			file:  func(s string) string { return replace(t, s, "manifests: [app.yaml]", "manifests: [app.yaml, deploy]") },
			want:  []string{`spec.manifests[1] "deploy": a directory with no *.yaml, *.yml or *.json file`}},
		{name: "no manifests",
			file: func(s string) string { return replace(t, s, "manifests: [app.yaml]", "manifests: []") },
			want: []string{"spec.manifests is empty: list the workload's YAML files"}},
		{name: "a controller not among the manifests",
			file: func(s string) string {
				return replace(t, s, "    name: shop\n  disruptions", "    name: cart\n  disruptions")
			},
			want: []string{`spec.controller.name "cart": no Deployment of that name among the manifests (Deployments there: shop)`}},
		{name: "a controller of a kind zerodrop does not disrupt",
			file: func(s string) string { return replace(t, s, "kind: Deployment", "kind: DaemonSet") },
			want: []string{`spec.controller.kind: workload kind "DaemonSet": use one of Deployment, StatefulSet, CloneSet`}},
		{name: "a controller kind the manifests have not",
			file: func(s string) string { return replace(t, s, "kind: Deployment", "kind: StatefulSet") },
			want: []string{`spec.controller.name "shop": no StatefulSet of that name among the manifests (they hold no StatefulSet)`}},
		{name: "a container not in the pod template",
			file: func(s string) string {
				return replace(t, s, "name: shop\n  disruptions", "name: shop\n    container: web\n  disruptions")
			},
			want: []string{`spec.controller.container "web": Deployment shop's pod template has no such container (it has app, sidecar)`}},
		{name: "a selector that does not select the pod template",
			app: func(s string) string {
				return replace(t, s, "matchLabels: {app: shop}", "matchLabels: {app: shop, tier: web}")
			},
			want: []string{"app.yaml:1 (document 1): Deployment shop: spec.selector app=shop,tier=web does not select its pod template's labels {app=shop}"}},
		{name: "a disruption not in the list",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[rolling-update, evicts]") },
			want: []string{`spec.disruptions[1]: disruption "evicts": use one of delete, evict, drain, rolling-update`}},
		{name: "a disruption that does not fit the controller",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[partition-rollout]") },
			want: []string{`spec.disruptions[0] "partition-rollout": disruption partition-rollout needs a [StatefulSet], not a Deployment`}},
		{name: "a disruption only the fixture can take",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[stuck-rollout]") },
			want: []string{`spec.disruptions[0] "stuck-rollout": needs zerodrop's own fixture: it breaks the new version through the fixture's NEVER_READY`}},
		{name: "a rainbow switch of an app",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[rainbow-switch]") },
			want: []string{`spec.disruptions[0] "rainbow-switch": a rainbow switch needs the fixture, which the runner deploys as its first colour`}},
		{name: "a disruption listed twice",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[evict, evict]") },
			want: []string{`spec.disruptions[1] "evict": listed twice: keep one`}},
		{name: "no disruption",
			file: func(s string) string { return replace(t, s, "  disruptions: [rolling-update, evict]\n", "") },
			want: []string{"spec.disruptions is empty: give at least one of delete, evict"}},
		{name: "a scale-down of one replica",
			file: func(s string) string { return replace(t, s, "[rolling-update, evict]", "[scale-down]") },
			app:  func(s string) string { return replace(t, s, "replicas: 3", "replicas: 1") },
			want: []string{`spec.disruptions[0] "scale-down": disruption scale-down needs at least 2 replicas, not 1: raise Deployment shop's spec.replicas`}},
		{name: "a path not in the list",
			file: func(s string) string { return replace(t, s, "  load:", "  paths: [nodeport, nodeprot+ka]\n  load:") },
			want: []string{`spec.paths[1]: path "nodeprot+ka": use one of nodeport, clusterip, headless, ingress, gateway, each optionally with +ka for a keep-alive client`}},
		{name: "a stream path",
			file: func(s string) string { return replace(t, s, "  load:", "  paths: [nodeport, clusterip+ws]\n  load:") },
			want: []string{`spec.paths[1] "clusterip+ws": streams are loaded with the fixture's stream protocol, which a user's app does not speak: use clusterip or clusterip+ka`}},
		{name: "an image archive that does not exist",
			file: func(s string) string { return replace(t, s, "  target:", "  images: [shop.tar]\n  target:") },
			want: []string{`spec.images[0] "shop.tar": no such file or directory (paths are relative to the scenario file's directory)`}},
		{name: "an image archive that is not a tar",
			extra: map[string]string{"shop.tar": "this is no tar archive, just text long enough to fill a header block"},
			file:  func(s string) string { return replace(t, s, "  target:", "  images: [shop.tar]\n  target:") },
			want:  []string{`spec.images[0] "shop.tar": not a tar archive`}},
		{name: "a gzipped image archive",
			extra: map[string]string{"shop.tar.gz": "\x1f\x8b\x08\x00"},
			file:  func(s string) string { return replace(t, s, "  target:", "  images: [shop.tar.gz]\n  target:") },
			want:  []string{`spec.images[0] "shop.tar.gz": gzip-compressed: gunzip it`}},
		{name: "a tar that is no docker archive",
			extra: map[string]string{"shop.tar": dockerArchive(t, `[{"Config":"c.json","Layers":[]}]`)},
			file:  func(s string) string { return replace(t, s, "  target:", "  images: [shop.tar]\n  target:") },
			want:  []string{`spec.images[0] "shop.tar": holds no tagged image: save the image by its name`}},
		{name: "a loaded image the kubelet would pull anyway",
			extra: map[string]string{"shop.tar": archive},
			file:  func(s string) string { return replace(t, s, "  target:", "  images: [shop.tar]\n  target:") },
			app:   func(s string) string { return replace(t, s, "image: shop:v1", "image: shop") },
			want:  []string{"app.yaml:1 (document 1): Deployment shop: container app: image shop comes from shop.tar, but no imagePullPolicy, which for the latest tag means Always, would pull it from a registry: set imagePullPolicy: IfNotPresent"}},
		{name: "expect neither pass nor fail",
			file: func(s string) string { return replace(t, s, "expect: pass", "expect: maybe") },
			want: []string{`spec.expect "maybe": use pass, fail or at-risk`}},
		{name: "no expect",
			file: func(s string) string { return replace(t, s, "  expect: pass\n", "") },
			want: []string{"spec.expect is missing: use pass (the workload must drop no request) or fail (it is known to drop requests)"}},
		{name: "a keep-alive expectation neither pass nor fail",
			file: func(s string) string {
				return replace(t, s, "expect: pass", "expect: pass\n  expectKeepAlive: sometimes")
			},
			want: []string{`spec.expectKeepAlive "sometimes": use pass, fail or at-risk, or leave it out`}},
		{name: "a StatefulSet that never replaces its pods",
			file: func(s string) string {
				return replace(t, replace(t, s, "kind: Deployment", "kind: StatefulSet"), "[rolling-update, evict]", "[rollout-restart]")
			},
			app: func(s string) string {
				return replace(t, s, "kind: Deployment\nmetadata:\n  name: shop\nspec:\n", "kind: StatefulSet\nmetadata:\n  name: shop\nspec:\n  updateStrategy: {type: OnDelete}\n")
			},
			want: []string{`spec.disruptions[0] "rollout-restart": StatefulSet shop's updateStrategy is OnDelete: a new pod template never replaces its pods; use RollingUpdate`}},
		{name: "an in-place update with no image to update to",
			file: func(s string) string {
				return replace(t, replace(t, s, "kind: Deployment", "kind: CloneSet"), "[rolling-update, evict]", "[cloneset-in-place]")
			},
			app: func(s string) string {
				return replace(t, s, "apiVersion: apps/v1\nkind: Deployment", "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet")
			},
			want: []string{"spec.controller.updateImage is missing: cloneset-in-place changes the container's image in place, to this one"}},
		{name: "a controller of another API version",
			app:  func(s string) string { return replace(t, s, "apiVersion: apps/v1", "apiVersion: extensions/v1beta1") },
			want: []string{"app.yaml:1 (document 1): Deployment shop: apiVersion extensions/v1beta1: a Deployment is apps/v1"}},
		{name: "an empty file",
			file: func(string) string { return "# nothing yet\n" },
			want: []string{"the file is empty: start it with apiVersion: zerodrop.dev/v1alpha1 and kind: Scenario"}},
		{name: "a file that does not parse",
			file: func(s string) string { return replace(t, s, "  target:\n", "  target: [\n") },
			want: []string{"line 8: the file does not parse: did not find expected ',' or ']'"}},
	}
	if len(cases) < 25 {
		t.Fatalf("%d cases: cover at least 25 bad inputs", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, app := goodFile, goodApp
			if c.file != nil {
				file = c.file(file)
			}
			if c.app != nil {
				app = c.app(app)
			}
			files := map[string]string{"zerodrop.yaml": file, "app.yaml": app}
			for k, v := range c.extra {
				files[k] = v
			}
			path := writeFiles(t, files)
			f, err := Load(path)
			var inv *Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("got %v, %v; want every problem", f, err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q:\n%s", w, msg)
				}
			}
			if !strings.HasPrefix(msg, "scenario file "+path+": ") {
				t.Errorf("the error does not name the file first:\n%s", msg)
			}
			// one problem per line, and only what is wrong: the good file
			// has nothing else to report
			for _, pr := range inv.Problems {
				if strings.Contains(pr.Error(), "\n") {
					t.Errorf("a problem of more than one line: %q", pr)
				}
			}
			want := c.problems
			if want == 0 {
				want = len(c.want)
			}
			if len(inv.Problems) != want {
				t.Errorf("%d problems, want %d:\n%s", len(inv.Problems), want, msg)
			}
		})
	}
}

// TestAllProblemsAtOnce: a file with many problems reports every one, each
// on its own line.
func TestAllProblemsAtOnce(t *testing.T) {
	file := replace(t, replace(t, replace(t, replace(t, goodFile,
		"rate: 50", "rate: -5"),
		"expect: pass", "expect: maybe"),
		"[rolling-update, evict]", "[rolling-update, evicts]"),
		"port: 80", "port: 81")
	_, err := Load(writeFiles(t, map[string]string{"zerodrop.yaml": file, "app.yaml": goodApp}))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 5 || !strings.HasSuffix(lines[0], ": 4 problems:") {
		t.Fatalf("want a header and 4 problems, one a line:\n%s", err)
	}
}
