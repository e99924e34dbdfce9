//go:build torch

package main

import "github.com/cofiharness/cofi/experiments/torch"

func torchInfo() string { return torch.Version() }
