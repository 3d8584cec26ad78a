package scenariofile

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/exampleimage"
	"github.com/zerodrop/zerodrop/outcome"
)

const examples = "../../docs/examples"

// builtExamples is a copy of docs/examples with the example app's image
// archive written where the scenario files name it (spec.images), as make
// examples writes it: the files are checked as a user would run them.
var builtExamples = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "zerodrop-examples-")
	if err != nil {
		return "", err
	}
	return dir, exampleimage.CopyExamples(context.Background(), examples, dir)
})

func examplesDir(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the example app's image")
	}
	dir, err := builtExamples()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := builtExamples(); err == nil && strings.Contains(dir, "zerodrop-examples-") {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// TestEveryExampleIsValid: every scenario file under docs/examples loads
// and makes scenarios, as zerodrop validate would say.
func TestEveryExampleIsValid(t *testing.T) {
	var files []string
	err := filepath.WalkDir(examplesDir(t), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "zerodrop.yaml" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %v: want the examples with and without a preStop hook", files)
	}
	for _, p := range files {
		f, err := Load(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if ss, err := f.Scenarios(); err != nil || len(ss) == 0 {
			t.Errorf("%s: %d scenarios, %v", p, len(ss), err)
		}
	}
}

// TestTheExamplesExpectWhatTheirProfilesDo: no preStop hook must fail; a
// preStop sleep must pass for new connections and fail for keep-alive ones.
func TestTheExamplesExpectWhatTheirProfilesDo(t *testing.T) {
	cases := map[string]struct {
		preStop    fixtures.PreStopKind
		seconds    int
		expect, ka outcome.Expectation
	}{
		"plain-app":         {fixtures.PreStopNone, 0, outcome.ExpectFail, outcome.ExpectFail},
		"plain-app-prestop": {fixtures.PreStopSleepA, fixtures.PropagationAllowance, outcome.ExpectPass, outcome.ExpectRisk},
	}
	for name, want := range cases {
		f, err := Load(filepath.Join(examplesDir(t), name, "zerodrop.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ss, err := f.Scenarios()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			x := s.Expectations()
			if p := s.Profile; p.PreStop != want.preStop || p.PreStopSeconds != want.seconds ||
				x[outcome.NewConnections].Expect != want.expect || x[outcome.KeepAlive].Expect != want.ka {
				t.Errorf("%s: preStop %s %d, expect %s, keep-alive %s; want %+v", s.ID(), p.PreStop, p.PreStopSeconds,
					x[outcome.NewConnections].Expect, x[outcome.KeepAlive].Expect, want)
			}
		}
	}
}

// TestTheExampleImageIsWhatTheManifestsName: the archive make examples
// writes holds the image the Deployments run, which the kubelet takes from
// the node (IfNotPresent), and loads from the scenario files' spec.images.
func TestTheExampleImageIsWhatTheManifestsName(t *testing.T) {
	dir := examplesDir(t)
	tags, err := archiveTags(filepath.Join(dir, exampleimage.Archive))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain-app", "plain-app-prestop"} {
		f, err := Load(filepath.Join(dir, name, "zerodrop.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ss, err := f.Scenarios()
		if err != nil {
			t.Fatal(err)
		}
		app := ss[0].App
		if len(app.Images) != 1 {
			t.Fatalf("%s: images %v: want the example's archive", name, app.Images)
		}
		for _, o := range app.Objects {
			if o.GetKind() != "Deployment" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			image, _, _ := unstructured.NestedString(cs[0].(map[string]any), "image")
			if len(tags) != 1 || !sameImage(image, tags[0]) {
				t.Errorf("%s: the Deployment runs %s, the archive holds %v", name, image, tags)
			}
			if _, ok := app.Images[tags[0]]; !ok {
				t.Errorf("%s: images %v do not hold %s", name, app.Images, tags[0])
			}
		}
	}
}

// TestTheExampleAppBuilds: the app the examples run is a module of its own
// (so it stays out of zerodrop's), built here so that it does not rot.
func TestTheExampleAppBuilds(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command(gobin, "build", "-o", filepath.Join(t.TempDir(), "plain-app"), ".")
	cmd.Dir = filepath.Join(examples, "plain-app", "app")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestTheCIExampleRunsTheFile: the GitHub Actions example is a workflow
// that checks the file, runs it and keeps what it wrote.
func TestTheCIExampleRunsTheFile(t *testing.T) {
	data, err := os.ReadFile("../../docs/ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		// YAML 1.1 reads the key on as true; GitHub reads it as on
		On   map[string]any `json:"true"`
		Jobs map[string]struct {
			Steps []struct {
				Uses string `json:"uses"`
				Run  string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			all.WriteString(s.Uses + "\n" + s.Run + "\n")
		}
	}
	for _, want := range []string{"go install \"github.com/zerodrop/zerodrop/cmd/zerodrop@", "zerodrop validate -f zerodrop.yaml",
		"zerodrop up --mode online", "zerodrop run -f zerodrop.yaml --out out", "out/report.md >> \"$GITHUB_STEP_SUMMARY\"", "actions/upload-artifact@"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("the workflow does not %q", want)
		}
	}
	if _, ok := wf.On["pull_request"]; !ok {
		t.Error("the workflow does not run on pull requests")
	}
}
