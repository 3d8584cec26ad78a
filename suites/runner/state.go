package runner

import (
	"log/slog"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

// State is what a scenario's phases share, the way kind's actions share
// their ActionContext: each phase reads what earlier ones left and adds its own.
type State struct {
	rt Runtime
	sc suites.Scenario
	ns string
	// nsUID owns what the scenario creates outside its namespace (an
	// OpenKruise SidecarSet), so that it goes with the namespace
	nsUID types.UID
	dir   string
	out   *outcome.Outcome
	log   *slog.Logger

	// deploy
	ref        workload.Ref
	env        chaos.Env
	routeHost  string // the Host the Ingress and HTTPRoute route
	accessName string // the name the access objects are named by
	podPort    int32  // the pods' own port, which a headless Service's clients dial
	nodePort   string // the nodeport path's base URL when its port was allocated
	// observe
	timeline     *observe.Timeline
	timelineFile *os.File
	stopTimeline func()
	// load
	plan        load.Plan
	streamPlan  load.StreamPlan
	hostStreams *load.Streams
	sink        *load.JSONLSink
	tracker     *load.Tracker
	// stopProgress ends the load's live figures (nil: none)
	stopProgress func()
	failMu       sync.Mutex
	failures     []outcome.Record
	host         *load.Load
	remote       *remoteLoad
	// warm
	warmAt time.Time
	// loadStarted is when the load began (zero before the load phase)
	loadStarted time.Time
	unreached   []string
	// notes are what the scenario could not verify, said beside a pass
	notes []string
	// disrupt
	span          *outcome.Span
	disruptionErr error
	// stop
	result   *outcome.LoadResult
	followed int // records streamed from the in-cluster generator
	// stopped is set once the load stopped with every record on disk.
	stopped bool
}

// note records a harness step on the timeline, once it runs.
func (st *State) note(kind, detail string) {
	if st.timeline != nil {
		st.timeline.Note(kind, detail)
	}
}

// httpPath is what each request asks for: the app's path, or the fixture's /.
func (st *State) httpPath() string {
	if st.sc.App != nil && st.sc.App.HTTPPath != "" {
		return st.sc.App.HTTPPath
	}
	return "/"
}
