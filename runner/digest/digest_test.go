package digest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFileDigestAndCache(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "big.tsv")
	write(t, f, "aaaa")
	cachePath := filepath.Join(dir, "cache", "digests.json")
	c := Open(cachePath)
	d1, err := c.File(f)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != "61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4" { // sha256("aaaa")
		t.Errorf("digest %s", d1)
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	// An unchanged file: the cached digest is used, the file is not read.
	c2 := Open(cachePath)
	if d, _ := c2.File(f); d != d1 || c2.Hashed() != 0 {
		t.Errorf("cache not used for an unchanged file (digest %s, %d files hashed)", d, c2.Hashed())
	}
	// A same-size edit with its modification time restored afterwards, as
	// cp -p, rsync -t and tar leave it: the change time moved, so it is rehashed.
	fi, _ := os.Stat(f)
	time.Sleep(10 * time.Millisecond) // the change time must be able to differ
	write(t, f, "bbbb")
	os.Chtimes(f, fi.ModTime(), fi.ModTime())
	if d, _ := Open(cachePath).File(f); d == d1 {
		t.Error("a same-size edit with the old mtime restored kept the stale digest")
	}
	// Replaced by a rename (a new inode), same size and mtime.
	c3 := Open(cachePath)
	d2, _ := c3.File(f)
	c3.Save()
	fi, _ = os.Stat(f)
	tmp := f + ".new"
	write(t, tmp, "cccc")
	os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	os.Rename(tmp, f)
	if d, _ := Open(cachePath).File(f); d == d2 {
		t.Error("a file replaced by a rename kept the stale digest")
	}
	os.Chtimes(f, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second))
	if d, _ := Open(cachePath).File(f); d == d1 || d == d2 {
		t.Error("a changed mtime did not re-hash")
	}
	// A corrupt cache file is an empty cache.
	write(t, cachePath, "{not json")
	if d, err := Open(cachePath).File(f); err != nil || d == d1 {
		t.Errorf("corrupt cache: %s %v", d, err)
	}
}

// TestVerifyRehashesAndReportsStale: with Verify the cache is not trusted,
// and a cached digest that no longer matches the content is reported.
func TestVerifyRehashesAndReportsStale(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "train.tsv")
	write(t, f, "aaaa")
	cachePath := filepath.Join(dir, "digests.json")
	c := Open(cachePath)
	c.File(f)
	// Corrupt the cached digest, as a cache written before a silent edit would be.
	for k, e := range c.entries {
		e.SHA256 = "0000"
		c.entries[k] = e
	}
	c.dirty = true
	c.Save()
	if d, _ := Open(cachePath).File(f); d != "0000" {
		t.Fatalf("setup: cache not used (%s)", d)
	}
	v := Open(cachePath)
	v.Verify = true
	d, err := v.File(f)
	if err != nil || d != "61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4" || v.Hashed() != 1 {
		t.Errorf("verify: digest %s, %d hashed, %v", d, v.Hashed(), err)
	}
	if len(v.Stale) != 1 || v.Stale[0] != f {
		t.Errorf("stale = %v, want [%s]", v.Stale, f)
	}
}

func TestFilesDigest(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, root := range []string{a, b} {
		write(t, filepath.Join(root, "train.tsv"), "x")
		write(t, filepath.Join(root, "dev.tsv"), "y")
	}
	c := Open("")
	da, _ := c.Files(a, []string{"train.tsv", "dev.tsv"})
	db, _ := c.Files(b, []string{"dev.tsv", "train.tsv"})
	if da != db {
		t.Error("digest depends on the root or the order of names")
	}
	write(t, filepath.Join(b, "dev.tsv"), "z")
	os.Chtimes(filepath.Join(b, "dev.tsv"), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if db2, _ := c.Files(b, []string{"train.tsv", "dev.tsv"}); db2 == da {
		t.Error("digest ignores content")
	}
	os.Rename(filepath.Join(a, "dev.tsv"), filepath.Join(a, "test.tsv"))
	if _, err := c.Files(a, []string{"train.tsv", "dev.tsv"}); err == nil {
		t.Error("missing file not reported")
	}
	write(t, filepath.Join(a, ".hidden.tmp-1"), "")
	write(t, filepath.Join(a, "sub", "x"), "")
	files, err := TreeFiles(a)
	if err != nil || len(files) != 3 || files[0] != "sub/x" && files[1] != "sub/x" && files[2] != "sub/x" {
		t.Errorf("tree files %v %v", files, err)
	}
}
