package reports

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/outcome"
)

func runOutcomes(t *testing.T) []*outcome.Outcome {
	t.Helper()
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestHTMLIsSelfContainedWithCharts(t *testing.T) {
	page, err := HTML(runOutcomes(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, forbidden := range []string{"<script", " src=", " href=", "@import", "url("} {
		if strings.Contains(page, forbidden) {
			t.Fatalf("the page must need no network and no script; it has %q", forbidden)
		}
	}
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(page, -1)) }
	if n := count(`<svg class="chart requests"`); n != 5 {
		t.Fatalf("%d request charts, want one per scenario (5)", n)
	}
	if n := count(`<svg class="chart latency"`); n != 5 {
		t.Fatalf("%d latency charts, want 5", n)
	}
	if n := count(`<svg class="chart versions"`); n != 2 {
		t.Fatalf("%d version charts, want 2 (the two rolling updates to v2)", n)
	}
	if count(`class="series-failed"`) == 0 {
		t.Fatal("the naive control's failures are not drawn")
	}
	if count(`class="marker"`) < 10 {
		t.Fatal("timeline markers are missing")
	}
	if count(`class="series-ok" data-path="nodeport" data-points="[1-9]`) != 5 || count(`class="series-ok" data-path="gateway" data-points="[1-9]`) != 5 {
		t.Fatal("every scenario needs an ok series per path with points")
	}
}

// TestHTMLInABrowser renders the page in headless Chromium, as a person would
// see it, and checks the charts drew: the DOM has them with data, and the
// screenshot is not blank and shows the red failure bars.
func TestHTMLInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must install Debian's chromium (.ci/run does)")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	dir := t.TempDir()
	page, err := HTML(runOutcomes(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "report.html")
	os.WriteFile(file, []byte(page), 0o644)
	shot := filepath.Join(dir, "report.png")
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--disable-quic", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(dir, "profile")}
	dom, err := exec.Command(chromium, append(flags, "--dump-dom", "file://"+file)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if n := bytes.Count(dom, []byte(`<svg class="chart `)); n != 12 {
		t.Fatalf("the browser's DOM has %d charts, want 12", n)
	}
	if !bytes.Contains(dom, []byte(`class="series-failed"`)) {
		t.Fatal("the browser's DOM has no failure bars")
	}
	if out, err := exec.Command(chromium, append(flags, "--window-size=1240,1400", "--screenshot="+shot, "file://"+file)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	nonWhite, red := pixels(img)
	if nonWhite < 0.03 {
		t.Fatalf("screenshot is %.1f%% non-white: blank", nonWhite*100)
	}
	if red < 50 {
		t.Fatalf("screenshot has %d red pixels: the failure bars did not draw", red)
	}
	t.Logf("screenshot %s: %.1f%% non-white, %d failure-red pixels", shot, nonWhite*100, red)
}

// pixels returns the share of non-white pixels and the count of pixels of the failure red (#d93036).
func pixels(img image.Image) (float64, int) {
	b := img.Bounds()
	total, nonWhite, red := 0, 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			total++
			if r < 240 || g < 240 || bl < 240 {
				nonWhite++
			}
			if r > 200 && g > 30 && g < 70 && bl > 35 && bl < 75 {
				red++
			}
		}
	}
	return float64(nonWhite) / float64(total), red
}
