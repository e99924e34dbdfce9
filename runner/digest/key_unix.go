//go:build unix

package digest

import (
	"io/fs"
	"syscall"
)

func keyOf(fi fs.FileInfo) key {
	k := key{Size: fi.Size(), MtimeNS: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.CtimeNS = st.Ctim.Sec*1e9 + st.Ctim.Nsec
		k.Inode = st.Ino
	}
	return k
}
