//go:build !torch

package main

import "fmt"

func torchInfo() string { return "not linked (built without -tags torch; run 'make build')" }

func checkNative() error { return nil }

func torchVersion(v *versionInfo) []string { return []string{"libtorch: " + torchInfo()} }

func init() {
	for _, c := range torchCommands {
		name := c.name
		register(Command{Name: name, Summary: c.summary + " [needs libtorch]", Run: func([]string) error {
			return fmt.Errorf("this binary was built without libtorch; build one with 'make build' (bin/cofi), then run 'bin/cofi %s --help'", name)
		}})
	}
}
