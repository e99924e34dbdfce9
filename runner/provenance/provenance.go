// Package provenance collects where and with what code a run happens: git
// commit, dirty flag and a hash of the uncommitted changes, Go version and
// host. It reads git through the git command in the directory it is given
// and falls back to the VCS stamp Go embeds in binaries.
package provenance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
)

// Collect returns the provenance of code run from dir (a git checkout or
// not). Fields it cannot find are left empty.
func Collect(dir string) record.Provenance {
	p := record.Provenance{GoVersion: runtime.Version()}
	p.Host, _ = os.Hostname()
	if commit, err := git(dir, "rev-parse", "HEAD"); err == nil {
		p.GitCommit = strings.TrimSpace(string(commit))
		p.DiffHash, p.GitDirty = diffHash(dir)
		return p
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.GitCommit = s.Value
			case "vcs.modified":
				p.GitDirty = s.Value == "true"
			}
		}
	}
	return p
}

// Code is the code version hashed into stage ids when an experiment sets
// invalidate_on_commit: the commit, plus the diff hash of a dirty tree.
func Code(p record.Provenance) string {
	if p.GitCommit == "" {
		return ""
	}
	if p.GitDirty {
		return p.GitCommit + "+" + p.DiffHash
	}
	return p.GitCommit
}

func git(dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return out.Bytes(), nil
}

// diffHash hashes `git diff HEAD` and the untracked, not ignored files (names
// and contents), so two dirty trees with the same changes hash the same.
func diffHash(dir string) (string, bool) {
	diff, err := git(dir, "diff", "HEAD", "--binary")
	if err != nil {
		return "", false
	}
	untracked, err := git(dir, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return "", false
	}
	if len(diff) == 0 && len(untracked) == 0 {
		return "", false
	}
	top, err := git(dir, "rev-parse", "--show-toplevel")
	root := strings.TrimSpace(string(top))
	if err != nil {
		root = dir
	}
	h := sha256.New()
	h.Write(diff)
	for _, name := range strings.Split(string(untracked), "\x00") {
		if name == "" {
			continue
		}
		fmt.Fprintf(h, "\x00untracked %s\x00", name)
		// ls-files names are relative to dir, which may be below the top level.
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			p = filepath.Join(root, name)
		}
		if f, err := os.Open(p); err == nil {
			io.Copy(h, f)
			f.Close()
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16], true
}
