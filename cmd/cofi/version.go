package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

const versionHelp = `Print the VCS revision the binary was built from, the Go version and, in a
binary built with libtorch, the native library it loaded (lib/libcofitorch.so:
the libtorch it was built against, CPU or CUDA, its C API stamp and whether
it matches the binary's), whether CUDA is usable, and the devices.
scripts/gpu-check.sh records the --json form.`

// versionInfo is what 'cofi version --json' prints.
type versionInfo struct {
	Cofi          string   `json:"cofi"`
	Go            string   `json:"go"`
	Torch         bool     `json:"torch"` // built with libtorch
	Native        any      `json:"native,omitempty"`
	APIMatch      bool     `json:"api_match"`
	CUDAAvailable bool     `json:"cuda_available"`
	CUDADevices   []string `json:"cuda_devices"`
	CPU           string   `json:"cpu,omitempty"`
	Problem       string   `json:"problem,omitempty"`
}

func init() {
	register(Command{Name: "version", Summary: "print build information, the native library and devices", Run: func(args []string) error {
		fs := newFlagSet("version", "[--json]", versionHelp)
		asJSON := fs.Bool("json", false, "print one JSON object")
		if err := fs.Parse(args); err != nil {
			return err
		}
		v := versionInfo{Cofi: "unknown", Go: runtime.Version(), CUDADevices: []string{}}
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					v.Cofi = s.Value
				}
			}
		}
		lines := torchVersion(&v)
		if *asJSON {
			e := json.NewEncoder(os.Stdout)
			e.SetIndent("", "  ")
			if err := e.Encode(v); err != nil {
				return err
			}
		} else {
			fmt.Printf("cofi %s, %s\n", v.Cofi, v.Go)
			for _, l := range lines {
				fmt.Println(l)
			}
		}
		if v.Problem != "" {
			return exitCode{1, v.Problem}
		}
		return nil
	}})
}
