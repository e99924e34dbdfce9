//go:build torch

package torch

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	lib "github.com/sugarme/gotch/libtch"
)

// NativeLib describes the native library (lib/libcofitorch.so) this process
// loaded: gotch's C wrapper of one libtorch, built by
// scripts/build-native.sh. The binary links only its C symbols, so the same
// binary runs against a library rebuilt for another libtorch.
type NativeLib struct {
	Path     string `json:"path"`     // the file loaded
	API      string `json:"api"`      // the C API stamp it was built for
	Want     string `json:"want_api"` // the C API stamp this binary was built for
	Libtorch string `json:"libtorch"` // libtorch version of the headers it was compiled against
	Source   string `json:"source"`   // debian, libtorch (pytorch.org) or python (a torch package)
	Root     string `json:"root"`     // that libtorch's directory
	CUDA     bool   `json:"cuda_build"`
	ABI      int    `json:"cxx11_abi"` // _GLIBCXX_USE_CXX11_ABI
	Guarded  int    `json:"guarded"`   // wrapper functions unavailable in that libtorch
	Built    string `json:"built"`     // UTC build time
	Compiler string `json:"compiler"`
}

var (
	nativeOnce sync.Once
	native     NativeLib
)

// Native reads the loaded native library's description (once).
func Native() NativeLib {
	nativeOnce.Do(func() {
		native = parseNative(lib.NativeLibInfo())
		native.Path, native.API, native.Want = filepath.Clean(lib.NativeLibPath()), lib.NativeLibAPI(), lib.NativeAPI
	})
	return native
}

func parseNative(info string) NativeLib {
	var n NativeLib
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		switch k {
		case "libtorch":
			n.Libtorch = v
		case "source":
			n.Source = v
		case "root":
			n.Root = v
		case "cuda":
			n.CUDA = v == "1"
		case "abi":
			n.ABI, _ = strconv.Atoi(v)
		case "guarded":
			n.Guarded, _ = strconv.Atoi(v)
		case "built":
			n.Built = v
		case "compiler":
			n.Compiler = v
		}
	}
	return n
}

func (n NativeLib) String() string {
	dev := "CPU"
	if n.CUDA {
		dev = "CUDA"
	}
	return fmt.Sprintf("%s: libtorch %s (%s, %s, C++11 ABI=%d) at %s, %d wrapper functions unavailable, C API %s",
		n.Path, n.Libtorch, n.Source, dev, n.ABI, n.Root, n.Guarded, n.API)
}

// CheckNative returns an error, one line naming the library found and the
// command that rebuilds it, when the loaded native library was built for
// another C API than this binary.
func CheckNative() error {
	return Native().Check()
}

// Check is CheckNative for n.
func (n NativeLib) Check() error {
	if n.API == n.Want {
		return nil
	}
	return fmt.Errorf("native library %s (libtorch %s, %s) was built for C API %s, but this binary needs %s: rebuild it with: %s",
		n.Path, n.Libtorch, n.Source, n.API, n.Want, n.RebuildCommand())
}

// RebuildCommand is the command that rebuilds the native library for the
// libtorch it was built against, from the repository next to the binary.
func (n NativeLib) RebuildCommand() string {
	// The script next to the binary (bin/../scripts), else the one in the
	// working directory; it writes to its repository's lib/ unless told.
	repo, _ := os.Getwd()
	script := "scripts/build-native.sh"
	if exe, err := os.Executable(); err == nil {
		r := filepath.Dir(filepath.Dir(exe))
		p := filepath.Join(r, "scripts", "build-native.sh")
		if _, err := os.Stat(p); err == nil {
			repo, script = r, p
		}
	}
	cmd := script
	if d := filepath.Dir(n.Path); n.Path != "" && d != filepath.Join(repo, "lib") {
		cmd += " --out " + d
	}
	if n.Source != "debian" && n.Source != "" {
		cmd += " " + n.Root
	}
	return cmd
}

// CUDADevices names the CUDA devices libtorch can use ("cuda:0: NVIDIA
// H100 80GB HBM3"), none on a CPU build.
func CUDADevices() (devs []string, err error) {
	err = Catch(func() error {
		if !lib.AtcCudaIsAvailable() {
			return nil
		}
		n := int(lib.AtcCudaDeviceCount())
		check("cuda_device_count")
		for i := range n {
			devs = append(devs, CUDA(i).String()+": "+strings.TrimPrefix(CUDA(i).Describe(0), "cuda: "))
		}
		return nil
	})
	return devs, err
}
