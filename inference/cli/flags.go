package cli

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file holds the flag types the upstream scripts need beyond Go's
// flag package: optional values (argparse default None), a pair of floats
// (nargs=2), repeated strings (action="append" / nargs="+"), argparse's
// BooleanOptionalAction (--x / --no-x), and the rewriting of
// space-separated multi-value flags into the one-value form Go's flag
// package parses.

// usageError is a bad command line: Run prints it with a pointer to --help
// and exits with status 2, like argparse.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// badUsage makes a usageError.
func badUsage(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// optInt is an integer flag whose default is "not given".
type optInt struct {
	v   int
	set bool
}

func (o *optInt) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want an integer, got %q", s)
	}
	o.v, o.set = v, true
	return nil
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

// optFloat is a float flag whose default is "not given".
type optFloat struct {
	v   float64
	set bool
}

func (o *optFloat) Set(s string) error {
	v, err := parseFloat(s)
	if err != nil {
		return err
	}
	o.v, o.set = v, true
	return nil
}

func (o *optFloat) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

// optString is a string flag whose default is "not given" (for defaults
// too long to show in the help text).
type optString struct {
	v   string
	set bool
}

func (o *optString) Set(s string) error {
	o.v, o.set = s, true
	return nil
}

func (o *optString) String() string {
	if o == nil {
		return ""
	}
	return o.v
}

// parseFloat parses a finite number.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a finite number, got %q", s)
	}
	return v, nil
}

// interval is --cfg_interval LO HI. It is set from "LO HI" or "LO,HI"; the
// space-separated form of the upstream scripts (two arguments) is joined
// into one before parsing (see expandArgs).
type interval struct{ lo, hi float64 }

func (iv *interval) Set(s string) error {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(parts) != 2 {
		return fmt.Errorf("want two numbers LO HI, got %q", s)
	}
	lo, err := parseFloat(parts[0])
	if err != nil {
		return err
	}
	hi, err := parseFloat(parts[1])
	if err != nil {
		return err
	}
	iv.lo, iv.hi = lo, hi
	return nil
}

func (iv *interval) String() string {
	if iv == nil {
		return ""
	}
	return strconv.FormatFloat(iv.lo, 'g', -1, 64) + " " + strconv.FormatFloat(iv.hi, 'g', -1, 64)
}

// stringList collects every value of a repeated flag.
type stringList []string

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, " ")
}

// boolAlias is a boolean flag writing another flag's variable, negated for
// the --no-x spellings.
type boolAlias struct {
	p      *bool
	negate bool
}

func (b boolAlias) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", s)
	}
	*b.p = v != b.negate
	return nil
}

func (b boolAlias) String() string { return "" }

// IsBoolFlag lets the flag be given without a value.
func (b boolAlias) IsBoolFlag() bool { return true }

// optionalBool defines argparse's BooleanOptionalAction: --name and every
// alias set the value, --no-<name> (and --no-<alias>) clear it. The aliases
// are hidden from the help text (printFlags skips empty usages); usage
// should mention them.
func optionalBool(fs *flag.FlagSet, p *bool, name string, def bool, usage string, aliases ...string) {
	*p = def
	fs.BoolVar(p, name, def, usage)
	fs.Var(boolAlias{p: p, negate: true}, "no-"+name, "")
	for _, a := range aliases {
		fs.Var(boolAlias{p: p}, a, "")
		fs.Var(boolAlias{p: p, negate: true}, "no-"+a, "")
	}
}

// isBoolFlag reports whether a flag takes no value.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// nargs values of expandArgs.
const (
	nargsPair      = 2  // exactly two following arguments (--cfg_interval LO HI)
	nargsOneOrMore = -1 // one or more following arguments (editing's --image A B …)
)

// expandArgs rewrites the upstream scripts' multi-value flags into the form
// Go's flag package parses: `--cfg_interval 0 1` becomes
// `--cfg_interval=0 1`, and `--image a.png b.png` becomes
// `--image=a.png --image=b.png` (for flags listed as nargsOneOrMore; the
// values end at the next argument that starts with "-"). It walks the
// arguments as the parser will, so a value of another flag is never taken
// for a flag name. Arguments after "--" are left alone.
func expandArgs(fs *flag.FlagSet, args []string, nargs map[string]int) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			out = append(out, a)
			continue
		}
		f := fs.Lookup(name)
		if f == nil || isBoolFlag(f) {
			out = append(out, a)
			continue
		}
		switch n := nargs[name]; {
		case n == nargsPair && i+2 < len(args):
			out = append(out, "--"+name+"="+args[i+1]+" "+args[i+2])
			i += 2
		case n == nargsOneOrMore:
			j := i + 1
			for ; j < len(args) && !(len(args[j]) > 1 && args[j][0] == '-'); j++ {
				out = append(out, "--"+name+"="+args[j])
			}
			if j == i+1 {
				out = append(out, a) // no value: the parser reports it
			}
			i = j - 1
		case i+1 < len(args):
			out = append(out, a, args[i+1])
			i++
		default:
			out = append(out, a)
		}
	}
	return out
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// oneOf checks a value against a list of choices, as argparse's choices=.
func oneOf(flagName, v string, choices ...string) error {
	for _, c := range choices {
		if v == c {
			return nil
		}
	}
	return badUsage("--%s %q: want one of %s", flagName, v, strings.Join(choices, ", "))
}
