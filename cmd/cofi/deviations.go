package main

import (
	"fmt"

	"github.com/cofiharness/cofi/deviations"
)

const deviationsHelp = `Print every behaviour of the harness compared with the authors' released code
(princeton-nlp/CoFiPruning) and the paper: what each does (file:line in the authors'
code), what the harness does by default and why, and the setting that restores the
authors' behaviour. REPRODUCE.md, section 6, holds the same table.`

func init() {
	register(Command{Name: "deviations", Summary: "list every deviation from the authors' code, with the switch that restores it", Run: func(args []string) error {
		fs := newFlagSet("deviations", "[--markdown]", deviationsHelp)
		md := fs.Bool("markdown", false, "print the Markdown table of REPRODUCE.md")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *md {
			fmt.Print(deviations.Markdown())
			return nil
		}
		fmt.Print(deviations.Text())
		return nil
	}})
}

// deviationsPointer ends the help of the commands that train.
const deviationsPointer = `
Where the defaults differ from the authors' code, and the settings that restore it:
'cofi deviations' (the same table as REPRODUCE.md, section 6).`
