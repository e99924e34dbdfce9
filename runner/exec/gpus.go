package exec

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DetectGPUs finds the GPUs to use: CUDA_VISIBLE_DEVICES when set (empty or
// -1 means none), else one per line of `nvidia-smi -L`, else none. source
// says where the answer came from.
func DetectGPUs(getenv func(string) (string, bool)) (ids []string, source string) {
	if v, ok := getenv("CUDA_VISIBLE_DEVICES"); ok {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" || strings.HasPrefix(f, "-") {
				break // CUDA ignores every id after an invalid one
			}
			ids = append(ids, f)
		}
		return ids, "CUDA_VISIBLE_DEVICES"
	}
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, "no CUDA_VISIBLE_DEVICES and no nvidia-smi"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-L").Output()
	if err != nil {
		return nil, "nvidia-smi -L failed: " + err.Error()
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "GPU ") {
			ids = append(ids, strconv.Itoa(len(ids)))
		}
	}
	return ids, "nvidia-smi -L"
}
