package kind

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/zerodrop/zerodrop/internal/phase"

	kindlog "sigs.k8s.io/kind/pkg/log"
)

// kindLogger adapts slog to kind's logger: kind's status lines become debug
// records, its warnings and errors stay what they are.
type kindLogger struct{ l *slog.Logger }

var _ kindlog.Logger = kindLogger{}

func (k kindLogger) Warn(message string)                      { k.l.Warn(message, "component", "kind") }
func (k kindLogger) Warnf(format string, args ...any)         { k.Warn(fmt.Sprintf(format, args...)) }
func (k kindLogger) Error(message string)                     { k.l.Error(message, "component", "kind") }
func (k kindLogger) Errorf(format string, args ...any)        { k.Error(fmt.Sprintf(format, args...)) }
func (k kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{k.l, level} }

type kindInfo struct {
	l     *slog.Logger
	level kindlog.Level
}

func (i kindInfo) Info(message string) {
	i.l.Debug(message, "component", "kind", "v", int(i.level))
	// kind's status (" • Starting control-plane 🕹️  ..."): a live figure
	// of the phase creating the cluster, for a status line to show
	if st, ok := strings.CutPrefix(strings.TrimSpace(message), "• "); ok && i.level == 0 {
		phase.Live(i.l, "kind", "status", strings.TrimSpace(strings.TrimSuffix(st, "...")))
	}
}
func (i kindInfo) Infof(format string, args ...any) { i.Info(fmt.Sprintf(format, args...)) }
func (i kindInfo) Enabled() bool                    { return i.l.Enabled(nil, slog.LevelDebug) }
