package slurm

import (
	"strconv"

	"github.com/cofiharness/cofi/record"
)

// JobFromEnv describes the job the calling process runs in, from the
// variables Slurm sets in a batch job; nil outside Slurm.
func JobFromEnv(getenv func(string) string) *record.Job {
	id := getenv("SLURM_JOB_ID")
	if id == "" {
		return nil
	}
	j := &record.Job{Scheduler: "slurm", ID: id, JobID: id, Node: getenv("SLURMD_NODENAME"),
		Partition: getenv("SLURM_JOB_PARTITION"), GPUs: getenv("SLURM_JOB_GPUS")}
	if j.GPUs == "" {
		j.GPUs = getenv("CUDA_VISIBLE_DEVICES")
	}
	if a := getenv("SLURM_ARRAY_JOB_ID"); a != "" {
		if n, err := strconv.Atoi(getenv("SLURM_ARRAY_TASK_ID")); err == nil {
			j.ArrayJob, j.ArrayTask = a, &n
			j.ID = a + "_" + strconv.Itoa(n)
		}
	}
	j.Restarts, _ = strconv.Atoi(getenv("SLURM_RESTART_COUNT"))
	return j
}
