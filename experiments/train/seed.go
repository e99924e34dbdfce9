package train

// StepSeed is the seed libtorch's generators get before training step step
// (0-based) of a stage seeded with seed. Both training loops reseed from it
// at every step, in an uninterrupted run and after a resume alike, so the
// dropout masks and hard-concrete noise of step k depend only on (seed, k),
// never on what ran earlier in the process: a stage resumed from a snapshot
// ends bit-identical to one run straight through. (Saving libtorch's
// generator state would also work, but only for the CPU generator through
// gotch's C API, and a CUDA generator's state is per device.)
func StepSeed(seed int64, step int) int64 {
	z := mix64(uint64(seed)) + uint64(step)*0x9E3779B97F4A7C15
	return int64(mix64(z) >> 1) // non-negative: libtorch takes it as uint64, gotch as int64
}

// InitStep is the step whose seed libtorch gets before a stage loads a
// model: a task head missing from a pre-trained checkpoint is initialised at
// random, and must not depend on whether the process loaded another model
// (or a snapshot with the head already in it) first.
const InitStep = -1

// mix64 is SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijection on
// 64-bit words with full avalanche, so neighbouring steps get unrelated seeds.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
