package app

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/zerodrop/zerodrop/kind/addons/kruise"
	"github.com/zerodrop/zerodrop/kind/addons/traefik"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/kind"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/zerodrop/zerodrop/kind/dockerd"
	"github.com/zerodrop/zerodrop/kind/factory"
)

type engineFlags struct {
	runtimeWrapper string
}

func (f *engineFlags) add(cmd *cobra.Command) {
	def := ""
	if exe, err := os.Executable(); err == nil {
		def = filepath.Join(filepath.Dir(exe), "zerodrop-runc")
	}
	cmd.Flags().StringVar(&f.runtimeWrapper, "runtime-wrapper", def, "zerodrop-runc binary to install as dockerd's runtime where the capability bounding set needs it")
}

func newEngineCmd(g *globals) *cobra.Command {
	var ef engineFlags
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Make sure a Docker engine answers and can run kind's privileged nodes (installs and starts one if needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, err := dockerd.Ensure(cmd.Context(), dockerd.Options{RuntimeWrapper: ef.runtimeWrapper, Logf: logf(g)})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "docker engine %s, default runtime %s (started: %v)\n", info.ServerVersion, info.DefaultRuntime, info.Started)
			return nil
		},
	}
	ef.add(cmd)
	return cmd
}

func newImagesCmd(g *globals) *cobra.Command {
	var ef engineFlags
	var o factory.Options
	var addons string
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build every image an air-gapped kind cluster needs, from Go modules and Debian packages (cached)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := dockerd.Ensure(cmd.Context(), dockerd.Options{RuntimeWrapper: ef.runtimeWrapper, Logf: logf(g)}); err != nil {
				return err
			}
			if _, err := exec.LookPath("debootstrap"); err != nil {
				if err := dockerd.AptInstall(cmd.Context(), logf(g), "debootstrap"); err != nil {
					return err
				}
			}
			in, err := inputs.Resolve(cmd.Context(), kind.Airgapped, o.CacheDir, "").WithSource(o.SourceDir)
			if err != nil {
				return badInput(fmt.Errorf("images: %w", err))
			}
			o.CacheDir, o.SourceDir, o.Log = in.CacheDir, in.SourceDir, g.logger()
			// The first failure cancels the other build and is the error.
			eg, ctx := errgroup.WithContext(cmd.Context())
			build := map[string]func() error{
				"traefik":    func() error { _, err := traefik.BuildTraefikImage(ctx, in.CacheDir, o.Log); return err },
				"openkruise": func() error { _, err := kruise.BuildImage(ctx, in.CacheDir, o.Log); return err },
			}
			var wanted []string
			for _, a := range strings.Split(addons, ",") {
				if a = strings.TrimSpace(a); a == "" {
					continue
				}
				if build[a] == nil {
					return badInput(fmt.Errorf("images: --addons %q: use traefik, openkruise or both, comma-separated", a))
				}
				wanted = append(wanted, a)
			}
			// The addons' controllers are built here too, so that no test or
			// scenario builds one within its own timeout: one after the other,
			// beside the factory (docs/benchmarks.md, the cold make e2e).
			eg.Go(func() error {
				for _, a := range wanted {
					if err := build[a](); err != nil {
						return err
					}
				}
				return nil
			})
			var res *factory.Result
			eg.Go(func() (err error) {
				res, err = factory.Build(ctx, o)
				return err
			})
			if err := eg.Wait(); err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	ef.add(cmd)
	cmd.Flags().StringVar(&addons, "addons", "traefik,openkruise", "also build these addons' controllers from their modules: traefik (Ingress, Gateway API), openkruise (CloneSets); '' for none")
	cmd.Flags().StringVar(&o.CacheDir, "cache-dir", "", "where builds are cached (default $ZERODROP_CACHE, else ~/.cache/zerodrop)")
	cmd.Flags().StringVar(&o.SourceDir, "source-dir", "", "the zerodrop source tree (default: the working directory)")
	cmd.Flags().StringVar(&o.Mirror, "debian-mirror", "", "Debian mirror for debootstrap (default: the host's apt source)")
	return cmd
}

func logf(g *globals) func(string, ...any) {
	log := g.logger()
	return func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }
}
