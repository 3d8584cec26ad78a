// Package phase reports progress of long operations as named phases through a
// structured logger, so libraries never print and the CLI decides how to show it.
package phase

import (
	"log/slog"
	"time"
)

// Start logs that a phase began and returns a function that logs its end
// (with the elapsed time and the error, if any) and passes the error through:
//
//	done := phase.Start(log, "build node image")
//	return done(buildIt())
func Start(log *slog.Logger, name string, attrs ...any) func(error) error {
	if log == nil {
		log = Discard()
	}
	begin := time.Now()
	log.Info(name, append([]any{"phase", "start"}, attrs...)...)
	return func(err error) error {
		a := append([]any{"phase", "done", "elapsed", time.Since(begin).Round(time.Millisecond)}, attrs...)
		if err != nil {
			log.Error(name, append(a, "err", err)...)
			return err
		}
		log.Info(name, a...)
		return nil
	}
}

// Discard returns a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
