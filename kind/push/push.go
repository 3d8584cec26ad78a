// Package push publishes the images zerodrop builds (docker archives in its
// cache) to a registry, for a cluster whose nodes zerodrop cannot load
// images into: any cluster that is not a kind cluster on this host.
//
// A tag keeps its repository path and its tag under the registry's prefix:
// zerodrop.local/zerodrop-fixture:3f2a… pushed to registry.example.com/team
// is registry.example.com/team/zerodrop-fixture:3f2a…. Tags are content
// hashes, so a pushed reference names one image for good, and an image the
// registry already holds under its reference is not written again.
package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// Registry pushes image archives under Prefix.
type Registry struct {
	// Prefix is a registry host (host[:port]) and an optional repository
	// path under it: ghcr.io/acme/zerodrop, localhost:5000.
	Prefix string
	// Insecure talks plain HTTP to the registry. go-containerregistry already
	// does for localhost, loopback, *.local and private (RFC 1918) addresses.
	Insecure bool
	// Keychain finds credentials (default: the Docker config's, as `docker
	// login` writes them, and its credential helpers).
	Keychain authn.Keychain
	Log      *slog.Logger
}

// CheckPrefix says what is wrong with a registry prefix, for a flag's error
// before any work.
func CheckPrefix(prefix string) error {
	_, err := reference(prefix, "zerodrop.local/check:v1", false)
	return err
}

// Reference is where tag is pushed under prefix.
func Reference(prefix, tag string) (string, error) {
	ref, err := reference(prefix, tag, false)
	if err != nil {
		return "", err
	}
	return ref.String(), nil
}

func reference(prefix, tag string, insecure bool) (name.Tag, error) {
	p := strings.TrimSuffix(strings.TrimSpace(prefix), "/")
	if p == "" {
		return name.Tag{}, fmt.Errorf("push: no registry: name one as host[:port][/path], e.g. localhost:5000 or ghcr.io/acme/zerodrop")
	}
	if strings.Contains(p, "://") {
		return name.Tag{}, fmt.Errorf("push: registry %q: give host[:port][/path] without a scheme (plain HTTP is used for localhost and private addresses)", prefix)
	}
	host, path, _ := strings.Cut(p, "/")
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		// name.NewTag would read team/zerodrop as Docker Hub's repository
		return name.Tag{}, fmt.Errorf("push: registry %q: its first part must be a registry host (with a dot or a port, or localhost), e.g. docker.io/%s", prefix, p)
	}
	if strings.ContainsAny(path, ":@") {
		return name.Tag{}, fmt.Errorf("push: registry %q: give a repository prefix, without a tag or digest", prefix)
	}
	src, err := name.NewTag(tag, name.WeakValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("push: image %s: %w", tag, err)
	}
	opts := []name.Option{name.StrictValidation}
	if insecure {
		opts = append(opts, name.Insecure)
	}
	dst, err := name.NewTag(p+"/"+src.RepositoryStr()+":"+src.TagStr(), opts...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("push: registry %q: %w (give host[:port][/path] in lower case)", prefix, err)
	}
	return dst, nil
}

// Publish pushes every image (tag -> docker archive) and returns the
// reference each tag was pushed to, for the pods to name.
func (r Registry) Publish(ctx context.Context, images map[string]string) (map[string]string, error) {
	log := r.Log
	if log == nil {
		log = phase.Discard()
	}
	keys := r.Keychain
	if keys == nil {
		keys = authn.DefaultKeychain
	}
	tags := make([]string, 0, len(images))
	for t := range images {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	done := phase.Start(log, "push images", "images", len(tags), "registry", r.Prefix)
	refs := make(map[string]string, len(tags))
	pushed := 0
	for _, tag := range tags {
		dst, err := reference(r.Prefix, tag, r.Insecure)
		if err != nil {
			return nil, done(err)
		}
		img, err := tarball.ImageFromPath(images[tag], nil)
		if err != nil {
			return nil, done(fmt.Errorf("push: read %s (%s): %w", tag, images[tag], err))
		}
		opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keys)}
		same, err := holds(dst, img, opts)
		if err != nil {
			return nil, done(err)
		}
		if !same {
			if err := remote.Write(dst, img, opts...); err != nil {
				return nil, done(fmt.Errorf("push: %s to %s: %w", tag, dst, err))
			}
			pushed++
		}
		refs[tag] = dst.String()
	}
	log.Debug("images pushed", "pushed", pushed, "already there", len(tags)-pushed)
	return refs, done(nil)
}

// holds says whether the registry already has img under dst. A registry
// that answers "not found" (or "unknown manifest") does not; one that
// cannot be reached or refuses the credentials is an error, said once
// here rather than after the first layer's upload.
func holds(dst name.Tag, img v1.Image, opts []remote.Option) (bool, error) {
	want, err := img.Digest()
	if err != nil {
		return false, fmt.Errorf("push: %s: %w", dst, err)
	}
	got, err := remote.Head(dst, opts...)
	if err != nil {
		if notFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("push: registry %s: %w", dst.Context().RegistryStr(), err)
	}
	return got.Digest == want, nil
}

// notFound says whether a registry's error means the reference is absent.
func notFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}
