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
	// Same size and modification time: the cached digest is used, the file is not read.
	fi, _ := os.Stat(f)
	write(t, f, "bbbb")
	os.Chtimes(f, fi.ModTime(), fi.ModTime())
	if d, _ := Open(cachePath).File(f); d != d1 {
		t.Error("cache not used for an unchanged (size, mtime)")
	}
	os.Chtimes(f, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second))
	if d, _ := Open(cachePath).File(f); d == d1 {
		t.Error("a changed mtime did not re-hash")
	}
	// A corrupt cache file is an empty cache.
	write(t, cachePath, "{not json")
	if d, err := Open(cachePath).File(f); err != nil || d == d1 {
		t.Errorf("corrupt cache: %s %v", d, err)
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
