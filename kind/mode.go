package kind

import (
	"fmt"
	"strings"

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
	// Auto is resolved by the entry point ($ZERODROP_MODE, else whether a
	// registry's name resolves) before anything below it sees a mode.
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
