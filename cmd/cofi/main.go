// Command cofi is the harness's single binary: it fine-tunes teachers, prunes
// with CoFi, measures speed, runs declared grids and renders reports.
//
// Each subcommand lives in its own file and registers itself in init(); the
// ones that need libtorch are compiled only with the "torch" build tag (see
// torch_*.go), so the rest of the binary builds and tests without cgo.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string // one line for `cofi help`
	// Run executes the command; args exclude the command name. Returning
	// flag.ErrHelp means help was printed and the exit status is 0.
	Run func(args []string) error
}

var commands = map[string]Command{}

func register(c Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cofi: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

// newFlagSet returns a FlagSet whose -h/--help prints usage, a one-paragraph
// description and every flag with its default.
func newFlagSet(name, usage, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: cofi %s %s\n\n%s\n\nflags:\n", name, usage, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "cofi — reproduction harness for CoFi structured pruning (Xia, Zhong & Chen, ACL 2022)\n\nusage: cofi <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintf(w, "\nRun 'cofi <command> --help' for the flags of a command.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				c.Run([]string{"--help"})
				return 0
			}
		}
		usage(os.Stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "cofi: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	if err := c.Run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ec exitCode
		if errors.As(err, &ec) {
			if ec.msg != "" {
				fmt.Fprintf(os.Stderr, "cofi %s: %s\n", c.Name, ec.msg)
			}
			return ec.code
		}
		fmt.Fprintf(os.Stderr, "cofi %s: %v\n", c.Name, err)
		return 1
	}
	return 0
}

// exitCode lets a command choose its exit status (e.g. 1 for "regression
// found" in compare, 2 for usage errors) with an optional message.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }
