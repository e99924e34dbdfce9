// Package digest computes content digests of the files a stage reads (data
// sets, model checkpoints) for stage identities. File digests are cached by
// absolute path and the file's (size, modification time, inode change time,
// inode), so multi-gigabyte GLUE files and checkpoints are hashed once, not
// at every plan. The change time and inode are in the key because the
// modification time alone can be restored after an edit (cp -p, rsync -t,
// tar): the change time cannot be set from user space, and a file replaced
// by a rename has a new inode. Cache.Verify ignores cached digests.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// Cache remembers file digests. The zero value is not usable; use Open.
type Cache struct {
	path    string
	mu      sync.Mutex
	entries map[string]entry
	dirty   bool
	hashed  int
	// Verify rehashes every file, ignoring cached digests, and records in
	// Stale the files whose cached digest was wrong.
	Verify bool
	Stale  []string
}

// Hashed is the number of files read and hashed so far (not from the cache).
func (c *Cache) Hashed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hashed
}

type entry struct {
	key
	SHA256 string `json:"sha256"`
}

// key is what must be unchanged for a cached digest to be used.
type key struct {
	Size    int64  `json:"size"`
	MtimeNS int64  `json:"mtime_ns"`
	CtimeNS int64  `json:"ctime_ns"`
	Inode   uint64 `json:"inode"`
}

// Open loads the cache stored at path; "" keeps it in memory only. A missing
// or unreadable cache file is an empty cache: it only costs re-hashing.
func Open(path string) *Cache {
	c := &Cache{path: path, entries: map[string]entry{}}
	if path == "" {
		return c
	}
	if b, err := os.ReadFile(path); err == nil {
		if json.Unmarshal(b, &c.entries) != nil {
			c.entries = map[string]entry{}
		}
	}
	return c
}

// Save writes the cache back if it changed. Concurrent savers may drop each
// other's new entries, which only costs re-hashing.
func (c *Cache) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" || !c.dirty {
		return nil
	}
	b, err := json.Marshal(c.entries)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(c.path, b, 0o644); err != nil {
		return fmt.Errorf("save digest cache: %w", err)
	}
	c.dirty = false
	return nil
}

// File returns the hex SHA-256 of the file at path.
func (c *Cache) File(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("digest %s: not a regular file", abs)
	}
	k := keyOf(fi)
	c.mu.Lock()
	e, cached := c.entries[abs]
	c.mu.Unlock()
	if cached && e.key == k && !c.Verify {
		return e.SHA256, nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest %s: %w", abs, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	c.mu.Lock()
	if cached && e.key == k && e.SHA256 != sum {
		c.Stale = append(c.Stale, abs)
	}
	c.entries[abs] = entry{key: k, SHA256: sum}
	c.dirty = true
	c.hashed++
	c.mu.Unlock()
	return sum, nil
}

// Files returns one digest for a set of files named relative to root: the
// SHA-256 of the sorted "name NUL digest" lines, so it changes when a file's
// content or name changes, and not when root moves.
func (c *Cache) Files(root string, rels []string) (string, error) {
	rels = append([]string(nil), rels...)
	sort.Strings(rels)
	h := sha256.New()
	for _, r := range rels {
		d, err := c.File(filepath.Join(root, r))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\n", filepath.ToSlash(r), d)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// TreeFiles lists the regular files under root, relative to it, skipping
// hidden files and directories (temporary files of atomic writes).
func TreeFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}
