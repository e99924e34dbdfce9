//go:build torch

// Package torch is the harness's one boundary to libtorch. It wraps the C API
// of gotch's libtch directly, rather than gotch's ts package, because the
// harness needs three things ts does not give:
//
//   - explicit ownership: every tensor an op returns belongs to the innermost
//     open Scope and is freed when that scope closes; no finalizers, no 100 KB
//     Go allocation per tensor (GOTCH.md: finalizer-based freeing balloons RSS
//     and crashes within 20–50 steps);
//   - in-place ops that do not leak the extra handle libtch returns;
//   - errors without a Go stack trace glued to every message.
//
// Ops panic with *Error on a libtorch failure; Catch turns that panic back into
// an error at the edge of a stage and frees what the failed work left behind.
// libtorch's grad mode and error slot are thread-local, so the process drives
// libtorch from one goroutine locked to its OS thread (init does this for main).
package torch
