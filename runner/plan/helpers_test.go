package plan

import "github.com/cofiharness/cofi/task"

func mustTask(name string) task.Task { return task.MustLookup(name) }
