package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WeightFiles are the weight files of an HF directory, in the order they are preferred.
var WeightFiles = []string{"model.safetensors", "pytorch_model.bin"}

// FindWeights returns the weight file of dir (safetensors preferred).
func FindWeights(dir string) (string, error) {
	for _, f := range WeightFiles {
		p := filepath.Join(dir, f)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("model directory %s does not exist", dir)
	}
	return "", fmt.Errorf("no weights in %s: want one of %v", dir, WeightFiles)
}
