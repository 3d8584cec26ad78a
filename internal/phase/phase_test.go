package phase

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// levels records the level and phase attribute of every record.
type levels struct{ got []string }

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }
func (l *levels) Handle(_ context.Context, r slog.Record) error {
	ph := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "phase" {
			ph = " " + a.Value.String()
		}
		return true
	})
	l.got = append(l.got, r.Level.String()+" "+r.Message+ph)
	return nil
}
func (l *levels) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levels) WithGroup(string) slog.Handler      { return l }

// TestLevels: phases log at Info (a failure at Error), steps and live
// figures at LevelProgress, a step's failure too, so a log at Info shows
// neither.
func TestLevels(t *testing.T) {
	h := &levels{}
	log := slog.New(h)
	Start(log, "a")(nil)
	Start(log, "b")(errors.New("x"))
	Step(log, "c")(nil)
	Step(log, "d")(errors.New("x"))
	Live(log, "e", "p", 1)
	want := []string{"INFO a start", "INFO a done", "INFO b start", "ERROR b done", "DEBUG+2 c start", "DEBUG+2 c done", "DEBUG+2 d start", "DEBUG+2 d done", "DEBUG+2 e"}
	if len(h.got) != len(want) {
		t.Fatalf("got %q, want %q", h.got, want)
	}
	for i := range want {
		if h.got[i] != want[i] {
			t.Fatalf("got %q, want %q", h.got, want)
		}
	}
	if LevelProgress <= slog.LevelDebug || LevelProgress >= slog.LevelInfo {
		t.Fatalf("LevelProgress %s is not between Debug and Info", LevelProgress)
	}
	Live(nil, "no logger")
	Step(nil, "no logger")(nil)
}
