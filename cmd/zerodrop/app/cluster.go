package app

import (
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
)

type clusterFlags struct {
	spec     kind.Spec
	mode     string
	cacheDir string
	stateDir string
}

func (f *clusterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.spec.Name, "name", kind.DefaultName, "cluster name")
	cmd.Flags().IntVar(&f.spec.Workers, "workers", 2, "worker nodes")
	cmd.Flags().StringVar(&f.spec.NodeImage, "node-image", "", "node image (default: by mode)")
	cmd.Flags().StringVar(&f.spec.KubeconfigPath, "kubeconfig-out", "", "the cluster's own kubeconfig file to write (default: <state dir>/<name>.kubeconfig, never ~/.kube/config)")
	cmd.Flags().StringVar(&f.spec.KubeProxyMode, "kube-proxy-mode", "iptables", "iptables or nftables")
	cmd.Flags().StringVar(&f.mode, "mode", "auto", "online (stock kind images), airgapped (images built by `zerodrop images`) or auto ($ZERODROP_MODE, else whether registry.k8s.io resolves)")
	addDirFlags(cmd, &f.cacheDir, &f.stateDir)
}

// addDirFlags adds --cache-dir and --state-dir (defaults resolved by package inputs).
func addDirFlags(cmd *cobra.Command, cacheDir, stateDir *string) {
	cmd.Flags().StringVar(cacheDir, "cache-dir", "", "where builds are cached (default $ZERODROP_CACHE, else ~/.cache/zerodrop)")
	cmd.Flags().StringVar(stateDir, "state-dir", "", "where clusters' kubeconfigs and logs live (default $ZERODROP_STATE, else ~/.zerodrop)")
}

// resolve validates the flags (before any cluster work) and resolves the
// inputs once: the mode, the directories, the kubeconfig path.
func (f *clusterFlags) resolve(cmd *cobra.Command, g *globals) (kind.Spec, inputs.Inputs, error) {
	m, err := kind.ParseMode(f.mode)
	if err != nil {
		return kind.Spec{}, inputs.Inputs{}, badInput(fmt.Errorf("--%w", err))
	}
	in := inputs.Resolve(cmd.Context(), m, f.cacheDir, f.stateDir)
	spec := f.spec.Defaults()
	if spec.KubeconfigPath == "" {
		spec.KubeconfigPath = in.Kubeconfig(spec.Name)
	}
	if err := spec.Validate(); err != nil {
		return kind.Spec{}, in, badInput(err)
	}
	g.logger().Info("mode", "mode", in.Mode, "why", in.ModeWhy)
	return spec, in, nil
}

func newUpCmd(g *globals) *cobra.Command {
	var f clusterFlags
	var recreate, verify bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create the cluster (or reuse a healthy matching one) and wait until it is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, in, err := f.resolve(cmd, g)
			if err != nil {
				return err
			}
			if verify {
				if in, err = in.WithSource(""); err != nil {
					return badInput(fmt.Errorf("up: --verify builds the fixture image: %w", err))
				}
			}
			c, err := kind.Provision(cmd.Context(), kind.Options{Spec: spec, Mode: in.Mode, CacheDir: in.CacheDir, Log: g.logger(), Recreate: recreate, ReadyTimeout: timeout})
			if err != nil {
				return err
			}
			if verify {
				img, err := factory.BuildImage(cmd.Context(), in.SourceDir, in.CacheDir, "zerodrop-fixture")
				if err != nil {
					return err
				}
				if err := c.LoadImages(cmd.Context(), map[string]string{img.Tag: img.Archive}); err != nil {
					return err
				}
				tc, err := c.CheckTraffic(cmd.Context(), img.Tag, false)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "traffic verified: NodePort 127.0.0.1 answered from %d pods on %d workers, pod-to-pod across nodes and CoreDNS work\n", len(tc.Answers), len(tc.Pods))
			}
			verb := "created"
			if c.Reused {
				verb = "reused"
			}
			fmt.Fprintf(g.stdout, "cluster %s %s (%d workers, image %s)\nexport KUBECONFIG=%s\n", c.Spec.Name, verb, c.Spec.Workers, c.Spec.NodeImage, c.Spec.KubeconfigPath)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&recreate, "recreate", false, "delete a same-named cluster that is unhealthy or does not match, instead of failing")
	cmd.Flags().DurationVar(&timeout, "ready-timeout", 5*time.Minute, "how long the cluster may take to become ready")
	cmd.Flags().BoolVar(&verify, "verify", false, "after ready, prove traffic: a fixture pod per worker behind a NodePort answers on 127.0.0.1, pod-to-pod across nodes, CoreDNS")
	return cmd
}

func newDownCmd(g *globals) *cobra.Command {
	var spec kind.Spec
	var stateDir string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Delete the cluster and its kubeconfig file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec.KubeconfigPath == "" {
				if stateDir == "" {
					stateDir = inputs.DefaultStateDir()
				}
				spec.KubeconfigPath = kind.KubeconfigPath(stateDir, spec.Name)
			}
			return kind.Down(cmd.Context(), spec, g.logger())
		},
	}
	cmd.Flags().StringVar(&spec.Name, "name", kind.DefaultName, "cluster name")
	cmd.Flags().StringVar(&spec.KubeconfigPath, "kubeconfig-out", "", "the cluster's kubeconfig file to remove (default: <state dir>/<name>.kubeconfig)")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "where clusters' kubeconfigs live (default $ZERODROP_STATE, else ~/.zerodrop)")
	return cmd
}

// badInput marks an error as the user's input (exit status 2).
func badInput(err error) error { return inputError{err} }

type inputError struct{ error }

func (e inputError) Unwrap() error { return e.error }

func newModeCmd(g *globals) *cobra.Command {
	var mode string
	cmd := &cobra.Command{
		Use:   "mode",
		Short: "Print the mode cluster images come from: online or airgapped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := kind.ParseMode(mode)
			if err != nil {
				return badInput(fmt.Errorf("--%w", err))
			}
			m, why := inputs.ResolveMode(cmd.Context(), m)
			g.logger().Debug("mode", "mode", m, "why", why)
			fmt.Fprintln(g.stdout, m)
			return nil
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "auto", "online, airgapped or auto")
	return cmd
}
