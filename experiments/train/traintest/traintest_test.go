package traintest

import (
	"context"
	"errors"
	"testing"
)

func TestStopAfter(t *testing.T) {
	ctx := StopAfter(2)
	for i, want := range []error{nil, nil, context.Canceled, context.Canceled} {
		if err := ctx.Err(); !errors.Is(err, want) && err != want {
			t.Errorf("call %d: %v, want %v", i+1, err, want)
		}
	}
}
