package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
)

// errFailedRequests makes `zerodrop load` exit 1 when any request failed.
var errFailedRequests = errors.New("load: requests failed")

func newLoadCmd(g *globals) *cobra.Command {
	var url, host, out, path string
	var plan load.Plan
	var pool int
	cmd := &cobra.Command{
		Use:   "load --url URL --rate R --duration D --out DIR",
		Short: "Drive constant-rate load at one URL and account for every request, for a disruption you drive yourself",
		Long: `Drive constant-rate load at one URL, record every request (records.jsonl: one line per request,
hidden retries of Go's transport included with their class) and a summary (summary.json), and print
the requests per class. The exit status is 1 when any request failed, 2 on bad input.

With --keepalive the client keeps a pool of --pool connections open (as browsers, meshes and
proxies do); a request Go's transport had to send twice on a broken kept-alive connection is a
failure (retried-no-answer, retried-unwritten): a client that is not Go would have seen it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return badInput(errors.New("load: --out: give a directory for records.jsonl and summary.json"))
			}
			if plan.Duration <= 0 {
				return badInput(fmt.Errorf("load: --duration %s: give a positive duration; every load is bounded", plan.Duration))
			}
			plan.MaxDuration = plan.Duration
			target := load.Target{Path: path, URL: url, Host: host, KeepAlive: plan.KeepAlive, Pool: pool}
			if err := plan.Defaults().Validate([]load.Target{target}); err != nil {
				return badInput(fmt.Errorf("load: %w", err))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("load: %w", err)
			}
			sink, err := load.CreateJSONL(filepath.Join(out, "records.jsonl"))
			if err != nil {
				return err
			}
			// every try Go's transport hid: a request retried twice hid two
			extra := 0
			counted := load.SinkFunc(func(r load.Record) error {
				if r.Attempts > 1 {
					extra += r.Attempts - 1
				}
				return sink.Write(r)
			})
			// on a terminal, the live rate and failures while it runs
			log := g.logger()
			meter := load.NewMeter(counted, path)
			step := phase.Step(log, "load "+url)
			stopFigures := meter.ReportEvery(cmd.Context(), time.Second, func(s load.Snapshot) { phase.Live(log, "load", s.LogAttrs()...) })
			stopProgress := func() { stopFigures(); phase.Live(log, "load") }
			l, err := load.Start(cmd.Context(), plan, []load.Target{target}, meter)
			if err != nil {
				stopProgress()
				step(err)
				sink.Close()
				return err
			}
			res, werr := l.Wait()
			stopProgress()
			step(werr)
			if err := sink.Close(); err != nil && werr == nil {
				werr = err
			}
			raw, _ := json.MarshalIndent(res, "", "  ")
			if err := os.WriteFile(filepath.Join(out, "summary.json"), raw, 0o644); err != nil && werr == nil {
				werr = fmt.Errorf("load: %w", err)
			}
			printClasses(g, res)
			if extra > 0 {
				fmt.Fprintf(g.stdout, "dropped tries Go's transport retried unseen: %d\n", extra)
			}
			switch {
			case werr != nil:
				return werr
			case !res.Valid:
				return fmt.Errorf("load: the run is no evidence: %s", strings.Join(res.Invalid, "; "))
			case res.Failures() > 0:
				return fmt.Errorf("%w: %d of %d (records in %s)", errFailedRequests, res.Failures(), res.Sent(), filepath.Join(out, "records.jsonl"))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "the URL to load (http or https)")
	f.StringVar(&host, "host", "", "Host header to send (an Ingress host)")
	f.StringVar(&path, "path-label", "load", "label of the path in the records")
	f.IntVar(&plan.Rate, "rate", 100, "requests per second")
	f.DurationVar(&plan.Duration, "duration", 0, "how long to send (required)")
	f.DurationVar(&plan.Timeout, "timeout", 5*time.Second, "per-request timeout")
	f.BoolVar(&plan.KeepAlive, "keepalive", false, "keep connections alive in a pool (default: a new connection for every request)")
	f.IntVar(&pool, "pool", 4, "connections in the keep-alive pool")
	f.StringVarP(&out, "out", "o", "", "directory for records.jsonl and summary.json (required)")
	return cmd
}

// printClasses prints the per-class table of a finished load.
func printClasses(g *globals, res *outcome.LoadResult) {
	if res == nil {
		return
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	for _, p := range res.Paths {
		fmt.Fprintf(tw, "path\t%s\n", p.Path)
		fmt.Fprintf(tw, "sent\t%d\t(%.1f rps achieved of %d)\n", p.Sent, p.Achieved, p.Planned)
		fmt.Fprintf(tw, "ok\t%d\n", p.OK)
		for _, c := range outcome.Classes {
			if n := p.Failed[c]; n > 0 {
				fmt.Fprintf(tw, "%s\t%d\n", c, n)
			}
		}
		fmt.Fprintf(tw, "connections\t%d new, %d reused\n", p.NewConns, p.Reused)
	}
	tw.Flush()
}
