package kind

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/kind/factory"
)

// Mode says where cluster images come from.
type Mode string

const (
	// Online uses kind's stock node image and pulled images: the default
	// wherever a registry answers.
	Online Mode = "online"
	// Airgapped uses images the factory built here, and never pulls.
	Airgapped Mode = "airgapped"
	// Auto detects the mode.
	Auto Mode = "auto"
)

// ParseMode accepts online, airgapped (air-gapped) or auto ("" = auto).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "online":
		return Online, nil
	case "airgapped", "air-gapped", "offline":
		return Airgapped, nil
	}
	return "", fmt.Errorf("mode %q: use online, airgapped or auto", s)
}

// registryHost is what auto mode asks about. Only a DNS lookup is made: no
// request is sent to any registry.
const registryHost = "registry.k8s.io"

// ResolveMode turns Auto into Online or Airgapped ($ZERODROP_MODE first, then
// whether the registry's name resolves), and says why.
func ResolveMode(ctx context.Context, m Mode) (Mode, string) {
	if m != Auto {
		return m, "chosen"
	}
	if env := os.Getenv("ZERODROP_MODE"); env != "" {
		if pm, err := ParseMode(env); err == nil && pm != Auto {
			return pm, "ZERODROP_MODE=" + env
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, registryHost); err != nil {
		return Airgapped, registryHost + " does not resolve (" + err.Error() + ")"
	}
	return Online, registryHost + " resolves"
}

// ResolveNodeImage picks the node image for a mode: kind's stock image
// online, the factory's last build air-gapped.
func ResolveNodeImage(m Mode, cacheDir string) (string, error) {
	switch m {
	case Online:
		return StockNodeImage, nil
	case Airgapped:
		res, err := factory.LastResult(cacheDir)
		if err != nil {
			return "", fmt.Errorf("kind: air-gapped mode: %w", err)
		}
		return res.NodeImage, nil
	}
	return "", fmt.Errorf("kind: mode %q has no node image; resolve auto first", m)
}
