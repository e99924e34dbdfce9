//go:build torch

package torch

/*
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	lib "github.com/sugarme/gotch/libtch"
)

func init() {
	// init runs on the main goroutine: pin it to the main thread so grad mode
	// and the error slot, both thread-local in libtorch, stay with it.
	runtime.LockOSThread()
}

// Error is a libtorch failure.
type Error struct {
	Op  string
	Msg string
}

func (e *Error) Error() string { return "libtorch " + e.Op + ": " + e.Msg }

// check turns libtorch's pending error, if any, into a panic with *Error.
func check(op string) {
	p := lib.GetAndResetLastErr()
	if p == nil {
		return
	}
	cp := (*C.char)(unsafe.Pointer(p))
	msg := C.GoString(cp)
	C.free(unsafe.Pointer(cp))
	panic(&Error{Op: op, Msg: trimMessage(msg)})
}

// trimMessage drops the C++ backtrace libtorch appends to its messages.
func trimMessage(m string) string {
	for _, cut := range []string{"\nException raised from", "Exception raised from", "\nframe #0"} {
		if i := strings.Index(m, cut); i > 0 {
			m = m[:i]
		}
	}
	return strings.TrimSpace(m)
}

// Catch runs fn and converts a libtorch panic into an error. Scopes that fn
// opened and did not close (because of the panic) are closed and their
// tensors freed. Panics that are not libtorch errors are bugs and propagate.
func Catch(fn func() error) (err error) {
	outer := current
	defer func() {
		if r := recover(); r != nil {
			for current != nil && current != outer {
				current.Close()
			}
			if te, ok := r.(*Error); ok {
				err = te
				return
			}
			panic(r)
		}
	}()
	return fn()
}

// Info describes the libtorch a process runs on.
type Info struct {
	Libtorch string // version and source, e.g. "1.13.0 (debian)"
	Device   Device
	Name     string // human-readable device, e.g. "cpu: AMD EPYC 7B13 (2 threads)"
	Threads  int
	Seed     int64
	CUDA     bool
}

// Setup sets libtorch's intra-op threads (0 = all cores) and seeds its
// generators, then reports the device to use for want ("auto", "cpu",
// "cuda", "cuda:N"). Call it once per process, from the main goroutine.
func Setup(threads int, seed int64, want string) (Info, error) {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	lib.AtSetNumThreads(threads)
	check("set_num_threads")
	lib.AtManualSeed(seed)
	check("manual_seed")
	info := Info{Libtorch: Version() + " (" + Native().Source + ")", Threads: lib.AtGetNumThreads(), Seed: seed}
	info.CUDA = lib.AtcCudaIsAvailable()
	dev, err := ParseDevice(want, info.CUDA)
	if err != nil {
		return info, err
	}
	info.Device = dev
	info.Name = dev.Describe(info.Threads)
	return info, nil
}

// Seed reseeds libtorch's generators.
func Seed(seed int64) {
	lib.AtManualSeed(seed)
	check("manual_seed")
}

// Threads returns libtorch's intra-op thread count.
func Threads() int { return lib.AtGetNumThreads() }

// Device is where tensors live: CPU, or a CUDA device index.
type Device int

// CPU is the host.
const CPU Device = -1

// CUDA returns the CUDA device with index i.
func CUDA(i int) Device { return Device(i) }

// IsCUDA reports whether d is a GPU.
func (d Device) IsCUDA() bool { return d >= 0 }

func (d Device) String() string {
	if d.IsCUDA() {
		return fmt.Sprintf("cuda:%d", int(d))
	}
	return "cpu"
}

// ParseDevice reads "auto", "cpu", "cuda" or "cuda:N".
func ParseDevice(s string, cudaAvailable bool) (Device, error) {
	switch s {
	case "", "auto":
		if cudaAvailable {
			return CUDA(0), nil
		}
		return CPU, nil
	case "cpu":
		return CPU, nil
	case "cuda", "gpu":
		s = "cuda:0"
	}
	var i int
	if _, err := fmt.Sscanf(s, "cuda:%d", &i); err != nil || i < 0 {
		return CPU, fmt.Errorf("device %q: want auto, cpu, cuda or cuda:N", s)
	}
	if !cudaAvailable {
		n := Native()
		why := "a CPU build"
		if n.CUDA {
			why = "a CUDA build, but no GPU is usable: check nvidia-smi and CUDA_VISIBLE_DEVICES"
		}
		return CPU, fmt.Errorf("device %s requested but CUDA is not available: the native library %s was built against libtorch %s (%s), %s", s, n.Path, n.Libtorch, n.Source, why)
	}
	if n := int(lib.AtcCudaDeviceCount()); i >= n {
		return CPU, fmt.Errorf("device %s requested but only %d CUDA devices are visible", s, n)
	}
	return CUDA(i), nil
}

// Describe names the device for records: the CPU model or GPU name.
func (d Device) Describe(threads int) string {
	if d.IsCUDA() {
		if name := gpuName(int(d)); name != "" {
			return "cuda: " + name
		}
		return d.String()
	}
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					model = strings.TrimSpace(v)
					break
				}
			}
		}
	}
	return fmt.Sprintf("cpu: %s (%d threads)", model, threads)
}

// gpuName asks nvidia-smi for the name of CUDA device i, honouring
// CUDA_VISIBLE_DEVICES; libtch has no call for it. Empty when unknown.
func gpuName(i int) string {
	idx := strconv.Itoa(i)
	if vis := os.Getenv("CUDA_VISIBLE_DEVICES"); vis != "" {
		if ids := strings.Split(vis, ","); i < len(ids) {
			idx = strings.TrimSpace(ids[i])
		}
	}
	out, err := exec.Command("nvidia-smi", "--query-gpu=name", "--format=csv,noheader", "-i", idx).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Synchronize waits for queued work on d to finish (a no-op on CPU); latency
// measurements need it on GPU.
func Synchronize(d Device) {
	if d.IsCUDA() {
		lib.AtcSynchronize(int64(d))
		check("synchronize")
	}
}

// NoGrad runs fn with autograd recording off.
func NoGrad(fn func()) {
	prev := lib.AtGradSetEnabled(0)
	check("grad_set_enabled")
	defer lib.AtGradSetEnabled(prev)
	fn()
}

// Version is the version of the libtorch the native library was built
// against, e.g. "1.13.0".
func Version() string { return Native().Libtorch }
