//go:build torch && linux

package torch

/*
#include <malloc.h>

// Serve every allocation from the heap and keep freed memory for reuse.
// libtorch's CPU allocator gets and frees tens of megabytes per op; glibc's
// default sends such blocks to mmap, so each training step page-faults its
// activations back in. Python escapes most of this through glibc's adaptive
// threshold on the main thread; a Go process did not (measured: forward of a
// 2-layer BERT-base at 32×128, 3.2 s before, 1.0 s after, PyTorch 1.1 s).
static void keepHeapMemory(void) {
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
*/
import "C"

func init() { C.keepHeapMemory() }
