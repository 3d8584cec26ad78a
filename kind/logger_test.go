package kind

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// TestKindStatusIsALiveFigure: kind's status lines stay debug records and
// each step begun is a live figure too, for a status line.
func TestKindStatusIsALiveFigure(t *testing.T) {
	var buf bytes.Buffer
	k := kindLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	k.V(0).Infof(" • %s  ...\n", "Preparing nodes 📦")
	k.V(0).Infof(" ✓ %s\n", "Preparing nodes 📦")
	k.V(1).Info("a detail")
	var live []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, "level="+phase.LevelProgress.String()) {
			live = append(live, l)
		}
	}
	if len(live) != 1 || !strings.Contains(live[0], `msg=kind status="Preparing nodes 📦"`) {
		t.Fatalf("live figures %q of:\n%s", live, buf.String())
	}
	if n := strings.Count(buf.String(), "level=DEBUG "); n != 3 {
		t.Fatalf("%d debug records, want kind's 3:\n%s", n, buf.String())
	}
}
