//go:build torch

package main

import (
	"encoding/json"
	"fmt"

	"github.com/cofiharness/cofi/experiments/devicecheck"
	"github.com/cofiharness/cofi/experiments/torch"
)

const deviceCheckHelp = `Check that a device computes what the CPU computes (scripts/gpu-check.sh runs it):
a tiny random BERT (2 layers, hidden 64) is built on the CPU and copied to
--device; both forwards (eval mode, a padded batch) must agree within 1e-4 on the
logits and every layer's hidden states; then one AdamW training step on the device
must give a finite loss and move the weights. Exit status 1 when a check fails.
On --device cpu it checks the CPU against itself (the training step still runs).`

func deviceCheckCmd(args []string) error {
	fs := newFlagSet("device-check", "[flags]", deviceCheckHelp)
	device := fs.String("device", "auto", "device to check: auto (CUDA when available), cpu, cuda or cuda:N")
	threads := fs.Int("threads", 0, "CPU intra-op threads (0 = all cores)")
	seed := fs.Int64("seed", 1, "seed of the random weights")
	batch := fs.Int("batch", 8, "batch size")
	seq := fs.Int("seq", 32, "sequence length")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"batch": 1, "seq": 4, "threads": 0}); err != nil {
		return err
	}
	info, err := torch.Setup(*threads, *seed, *device)
	if err != nil {
		return err
	}
	r, err := devicecheck.Run(info.Device, *seed, *batch, *seq)
	if *asJSON {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Println(string(b))
	} else {
		fmt.Printf("device %s (%s): forward vs CPU: logits %.3g, hidden states %.3g (tolerance %.0e): %s\n",
			r.Device, info.Name, r.MaxLogitDiff, r.MaxHiddenDiff, r.Tolerance, okWord(r.ForwardOK))
		fmt.Printf("training step on %s: loss %.4f, largest weight change %.3g: %s\n", r.Device, r.Loss, r.WeightChange, okWord(r.StepOK))
	}
	if err != nil {
		return err
	}
	if !r.OK() {
		return exitCode{1, r.Problem}
	}
	return nil
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}
