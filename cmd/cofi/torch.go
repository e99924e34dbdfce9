//go:build torch

package main

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/experiments/torch"
)

func torchInfo() string { return torch.Version() }

// checkNative stops the binary when the native library it loaded was built
// for another C API (see torch.CheckNative).
func checkNative() error { return torch.CheckNative() }

// torchVersion fills the libtorch part of 'cofi version' and returns its lines.
func torchVersion(v *versionInfo) []string {
	n := torch.Native()
	v.Torch, v.Native, v.APIMatch = true, n, n.API == n.Want
	lines := []string{"native library " + n.String()}
	if err := n.Check(); err != nil {
		v.Problem = err.Error()
		return lines
	}
	devs, err := torch.CUDADevices()
	if err != nil {
		v.Problem = err.Error()
		return lines
	}
	v.CUDAAvailable = len(devs) > 0
	v.CUDADevices = append(v.CUDADevices, devs...)
	switch {
	case v.CUDAAvailable:
		lines = append(lines, fmt.Sprintf("CUDA: available, %d device(s): %s", len(devs), strings.Join(devs, "; ")))
	case n.CUDA:
		lines = append(lines, "CUDA: not available (a CUDA build, but no usable GPU)")
	default:
		lines = append(lines, "CUDA: not available (a CPU build)")
	}
	v.CPU = torch.CPU.Describe(torch.Threads())
	lines = append(lines, v.CPU)
	return lines
}
