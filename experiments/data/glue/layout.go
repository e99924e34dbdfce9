package glue

// Layout says how a task's TSV rows are laid out: whether its files start
// with a header line and which columns hold its texts (one, or two for
// pairs), as TinyBERT's data augmentation needs to rewrite them.
func Layout(taskName string) (header bool, textCols []int, err error) {
	_, s, err := lookup(taskName)
	if err != nil {
		return false, nil, err
	}
	textCols = []int{s.colA}
	if s.pair {
		textCols = append(textCols, s.colB)
	}
	return s.header, textCols, nil
}

// EvalFiles lists the TSV base names of a task's evaluation sets ("dev",
// or "dev_matched" and "dev_mismatched" for MNLI), in EvalSets order.
func EvalFiles(taskName string) ([]string, error) {
	t, s, err := lookup(taskName)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range t.EvalSets {
		out = append(out, s.evalTSV[e])
	}
	return out, nil
}
