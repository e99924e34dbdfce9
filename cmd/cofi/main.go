// Command cofi is the harness's single binary: it fine-tunes teachers, prunes
// with CoFi, measures speed, runs declared grids and renders reports.
//
// Each subcommand lives in its own file and registers itself in init(); the
// ones that need libtorch are compiled only with the "torch" build tag (see
// torch_*.go), so the rest of the binary builds and tests without cgo.
package main

import (
	"bytes"
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

// flagUse is the flag set of the command running now (one per process, or
// per call of run in tests): the flag package writes its own error message
// into out, and run prints help or that error once, where it belongs.
type flagUse struct {
	fs      *flag.FlagSet
	out     bytes.Buffer // what the flag package printed (its error message)
	print   func(io.Writer)
	wantUse bool // fs.Usage was called: by a parse error, -h, or the command
}

var currentFlags *flagUse

// newFlagSet returns a FlagSet whose -h/--help prints usage, a one-paragraph
// description and every flag with its default on standard output (exit 0);
// a flag error is printed once on standard error (exit 2) by run.
func newFlagSet(name, usage, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	u := &flagUse{fs: fs}
	u.print = func(w io.Writer) {
		fmt.Fprintf(w, "usage: cofi %s %s\n\n%s\n\nflags:\n", name, usage, strings.TrimSpace(description))
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(&u.out)
	}
	fs.SetOutput(&u.out)
	fs.Usage = func() { u.wantUse = true }
	currentFlags = u
	return fs
}

// parseArgs parses flags given before, between or after the positional
// arguments ("--" ends the flags) and returns the positional ones; want < 0
// accepts any number.
func parseArgs(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Leave fs.Args() as the positional arguments for callers that read them.
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return nil, err
	}
	if want >= 0 && len(pos) != want {
		fs.Usage()
		return nil, exitCode{2, fmt.Sprintf("want %d argument(s), got %d", want, len(pos))}
	}
	return pos, nil
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
	currentFlags = nil
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(os.Stderr, "cofi help: unknown command %q (run 'cofi help' for the list)\n", args[1])
				return 2
			}
			return finish(c, c.Run([]string{"--help"}))
		}
		if len(args) == 0 {
			usage(os.Stderr)
			return 2
		}
		usage(os.Stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "cofi: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	// A native library built for another C API than this binary's would
	// call functions with the wrong signatures: stop before any work
	// ('cofi version' reports it itself).
	if c.Name != "version" {
		if err := checkNative(); err != nil {
			fmt.Fprintf(os.Stderr, "cofi: %v\n", err)
			return 1
		}
	}
	return finish(c, c.Run(args[1:]))
}

// finish turns a command's error into its exit status, printing help on
// standard output and every error once on standard error.
func finish(c Command, err error) int {
	u := currentFlags
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		if u != nil {
			u.print(os.Stdout)
		}
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		if u != nil && u.wantUse && ec.code == 2 {
			u.print(os.Stderr)
			fmt.Fprintln(os.Stderr)
		}
		if ec.msg != "" {
			fmt.Fprintf(os.Stderr, "cofi %s: %s\n", c.Name, ec.msg)
		}
		return ec.code
	}
	if u != nil && u.wantUse && strings.Contains(u.out.String(), err.Error()) {
		// A flag the command does not know or a value it cannot parse.
		fmt.Fprintf(os.Stderr, "cofi %s: %v\nRun 'cofi %s --help' for its flags.\n", c.Name, err, c.Name)
		return 2
	}
	fmt.Fprintf(os.Stderr, "cofi %s: %v\n", c.Name, err)
	return 1
}

// exitCode lets a command choose its exit status (e.g. 1 for "regression
// found" in compare, 2 for usage errors) with an optional message.
type exitCode struct {
	code int
	msg  string
}

func (e exitCode) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }
