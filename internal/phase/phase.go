// Package phase reports progress of long operations as named phases through a
// structured logger, so libraries never print and the CLI decides how to show it.
//
// Phases (Start) log at Info: a log shows each one's start and end. Steps
// (Step) and live figures (Live) log at LevelProgress, below Info: a log
// at Info drops them, a terminal's status line shows them in place.
package phase

import (
	"context"
	"log/slog"
	"time"
)

// LevelProgress is the level of steps and live figures: below Info, above
// Debug. A handler that shows no status line drops it.
const LevelProgress = slog.Level(-2)

// Start logs that a phase began and returns a function that logs its end
// (with the elapsed time and the error, if any) and passes the error through:
//
//	done := phase.Start(log, "build node image")
//	return done(buildIt())
func Start(log *slog.Logger, name string, attrs ...any) func(error) error {
	return start(log, slog.LevelInfo, name, attrs)
}

// Step is Start at LevelProgress, its failure too: a step of a phase,
// which a status line shows while it runs and a log does not (the phase
// around it reports the error).
func Step(log *slog.Logger, name string, attrs ...any) func(error) error {
	return start(log, LevelProgress, name, attrs)
}

func start(log *slog.Logger, level slog.Level, name string, attrs []any) func(error) error {
	if log == nil {
		log = Discard()
	}
	begin := time.Now()
	log.Log(context.Background(), level, name, append([]any{"phase", "start"}, attrs...)...)
	return func(err error) error {
		a := append([]any{"phase", "done", "elapsed", time.Since(begin).Round(time.Millisecond)}, attrs...)
		if err != nil {
			lv := level
			if lv >= slog.LevelInfo {
				lv = slog.LevelError
			}
			log.Log(context.Background(), lv, name, append(a, "err", err)...)
			return err
		}
		log.Log(context.Background(), level, name, a...)
		return nil
	}
}

// Live logs the live figures of a running phase at LevelProgress, e.g.
// once a second while load runs: each record replaces the last one of the
// same message (and namespace attribute); one with no attributes but the
// namespace ends them.
func Live(log *slog.Logger, msg string, attrs ...any) {
	if log == nil {
		return
	}
	log.Log(context.Background(), LevelProgress, msg, attrs...)
}

// Discard returns a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
