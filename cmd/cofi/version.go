package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(Command{Name: "version", Summary: "print build information", Run: func(args []string) error {
		fs := newFlagSet("version", "", "Print the Go version, the VCS revision the binary was built from and whether libtorch is linked.")
		if err := fs.Parse(args); err != nil {
			return err
		}
		rev := "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
		fmt.Printf("cofi %s, %s, libtorch: %s\n", rev, runtime.Version(), torchInfo())
		return nil
	}})
}
