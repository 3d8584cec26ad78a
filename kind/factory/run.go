package factory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// run executes a command in dir, keeping its output for the error.
func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	_, err := runIO(ctx, dir, env, nil, name, args...)
	return err
}

// output executes a command and returns its stdout.
func output(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	return runIO(ctx, dir, env, nil, name, args...)
}

func runIO(ctx context.Context, dir string, env []string, stdin io.Reader, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(shorten(args), " "), err, lastLines(stderr.String()+stdout.String(), 30))
	}
	return stdout.String(), nil
}

func shorten(args []string) []string {
	if len(args) <= 12 {
		return args
	}
	return append(append([]string{}, args[:12]...), fmt.Sprintf("... (%d more)", len(args)-12))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
