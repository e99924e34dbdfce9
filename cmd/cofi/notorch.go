//go:build !torch

package main

func torchInfo() string { return "not linked (built without -tags torch; run 'make build')" }
