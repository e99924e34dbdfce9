// Package baselines holds the runnable baselines the paper compares CoFi
// with. The published baseline numbers (TinyBERT, DistilBERT, DynaBERT, Block
// Pruning) are data in results/reference, next to the paper's own.
//
// TinyBERT-style task distillation (tinybert.go, needs libtorch) trains a
// small dense student — by default TinyBERT4's shape: 4 layers, hidden 312,
// FFN 1200, 12 heads — from random initialisation (TinyBERT's "w/o GD"
// setting: no general distillation, which needs a large unlabeled corpus)
// with the teacher's embeddings, hidden states and predictions as targets.
package baselines
