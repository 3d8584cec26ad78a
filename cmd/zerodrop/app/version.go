package app

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print zerodrop's module version, the revision it was built from and its Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bi, ok := debug.ReadBuildInfo()
			fmt.Fprintln(g.stdout, versionLine(bi, ok))
			return nil
		},
	}
}

// versionLine says what a build is: its module version (v1.2.3 from go
// install ...@v1.2.3, "(devel)" from a source tree), the VCS revision, time
// and whether the tree was modified (when the build stamped them), the Go
// version, OS and architecture.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	if !ok || bi == nil {
		return fmt.Sprintf("zerodrop (no build information) %s %s", runtime.Version(), platform)
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		vcs = append(vcs, "revision "+rev)
		if t := settings["vcs.time"]; t != "" {
			vcs = append(vcs, t)
		}
		if settings["vcs.modified"] == "true" {
			vcs = append(vcs, "modified")
		}
	} else if version == "(devel)" {
		// a released version names its source; a source build says why it cannot
		vcs = append(vcs, "no VCS revision stamped: built with -buildvcs=false or outside a repository")
	}
	line := "zerodrop " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s", line, bi.GoVersion, platform)
}
