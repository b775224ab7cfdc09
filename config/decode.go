package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Problem is one thing wrong in a configuration file.
type Problem struct {
	// Line is the line of the key in the file; 0 when unknown (the key is
	// not in the file, or it is in one of several [[watch]] or [[webhook]]
	// tables, which the decoder does not tell apart).
	Line int
	// Key names the key at fault ("scanner.workers", "watch[1].path");
	// empty for a syntax error.
	Key     string
	Message string
}

// Error is every problem found in a configuration, one a line, each naming
// the file and line when known and the key: "config /etc/shellwatch/
// config.toml:12: scanner.workers: = -1, want 0 (one per CPU) to 1024".
type Error struct {
	Path     string // the file; empty for text given to Parse
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		var b strings.Builder
		switch {
		case e.Path != "" && p.Line > 0:
			fmt.Fprintf(&b, "config %s:%d: ", e.Path, p.Line)
		case e.Path != "":
			fmt.Fprintf(&b, "config %s: ", e.Path)
		case p.Line > 0:
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// decoder fills a Config key by key, so that a bad value is reported and the
// decoding goes on: every problem of the file is found in one pass. A key
// whose value is bad keeps its default.
type decoder struct {
	md       toml.MetaData
	problems []Problem
	// lines holds the line of every key whose line is known, by the names
	// Validate uses ("watch[0].path"), so its problems can say where.
	lines map[string]int
}

// decode parses text and fills cfg, which holds the defaults. A syntax error
// stops it at once (one problem); otherwise it returns a problem for every
// unknown key and bad value, in the order of the file.
func decode(text string, cfg *Config) (lines map[string]int, problems []Problem) {
	var top map[string]toml.Primitive
	md, err := toml.Decode(text, &top)
	if err != nil {
		return nil, []Problem{syntaxProblem(err)}
	}
	d := &decoder{md: md, lines: make(map[string]int)}
	d.table(top, reflect.ValueOf(cfg).Elem(), "", true)
	sortProblems(d.problems)
	return d.lines, d.problems
}

// sortProblems puts problems in the order of the file, those without a line
// last.
func sortProblems(problems []Problem) {
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i], problems[j]
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Key < b.Key
	})
}

// syntaxProblem keeps the decoder's position and key but drops its
// multi-line source excerpt, which would break one-line log entries.
func syntaxProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{Line: pe.Position.Line, Key: pe.LastKey, Message: pe.Message}
	}
	return Problem{Message: err.Error()}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// tableDefaults gives the values an element of an array of tables starts
// from, by element type.
var tableDefaults = map[reflect.Type]func() reflect.Value{
	reflect.TypeFor[Watch]():     func() reflect.Value { return reflect.ValueOf(DefaultWatch()) },
	reflect.TypeFor[Webhook]():   func() reflect.Value { return reflect.ValueOf(DefaultWebhook()) },
	reflect.TypeFor[AccessLog](): func() reflect.Value { return reflect.ValueOf(DefaultAccessLog()) },
}

// table decodes the keys of one TOML table into the struct rv. prefix is the
// table's key ("" at the top); exact says whether the decoder's line numbers
// are those of this table (not of a sibling in an array of tables).
func (d *decoder) table(keys map[string]toml.Primitive, rv reflect.Value, prefix string, exact bool) {
	fields := make(map[string]int)
	for i := range rv.NumField() {
		if name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("toml"), ","); name != "" && name != "-" {
			fields[name] = i
		}
	}
	for name, prim := range keys {
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		line := 0
		if exact {
			line = d.line(prim)
			d.lines[key] = line
		}
		i, ok := fields[name]
		if !ok {
			// Keys inside an unknown table are not listed: "unknown key
			// foo" says enough about [foo].
			d.problems = append(d.problems, Problem{Line: line, Key: key, Message: "unknown key"})
			continue
		}
		d.value(prim, rv.Field(i), key, line, exact)
	}
}

// value decodes one key into the field fv.
func (d *decoder) value(prim toml.Primitive, fv reflect.Value, key string, line int, exact bool) {
	bad := func(format string, args ...any) {
		d.problems = append(d.problems, Problem{Line: line, Key: key, Message: fmt.Sprintf(format, args...)})
	}
	isText := reflect.PointerTo(fv.Type()).Implements(textUnmarshaler)
	switch {
	case fv.Kind() == reflect.Struct && !isText:
		var sub map[string]toml.Primitive
		if err := d.md.PrimitiveDecode(prim, &sub); err != nil {
			bad("want a table, [%s]", key)
			return
		}
		d.table(sub, fv, key, exact)
	case fv.Kind() == reflect.Slice && tableDefaults[fv.Type().Elem()] != nil:
		var subs []map[string]toml.Primitive
		if err := d.md.PrimitiveDecode(prim, &subs); err != nil {
			bad("want one or more [[%s]] tables", key)
			return
		}
		elems := reflect.MakeSlice(fv.Type(), len(subs), len(subs))
		for i, sub := range subs {
			elems.Index(i).Set(tableDefaults[fv.Type().Elem()]())
			d.table(sub, elems.Index(i), fmt.Sprintf("%s[%d]", key, i), exact && len(subs) == 1)
		}
		fv.Set(elems)
	default:
		// A fresh value, so a value that fails half-way leaves the default
		// whole; a key that is set replaces the default entirely.
		nv := reflect.New(fv.Type())
		if err := d.md.PrimitiveDecode(prim, nv.Interface()); err != nil {
			bad("%s", valueMessage(err))
			return
		}
		fv.Set(nv.Elem())
	}
}

// valueMessage is the decoder's complaint about a value without the
// position and key it puts in front (the Problem carries them).
func valueMessage(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.Message
	}
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	if strings.HasPrefix(msg, "line ") || strings.HasPrefix(msg, "(last key ") {
		if _, rest, ok := strings.Cut(msg, "): "); ok {
			msg = rest
		}
	}
	var got, want string
	if n, _ := fmt.Sscanf(msg, "incompatible types: TOML value has type %s destination has type %s", &got, &want); n == 2 {
		return fmt.Sprintf("is %s, want %s", typeName(strings.TrimSuffix(got, ";")), typeName(want))
	}
	return msg
}

// typeName names a TOML value's Go type, or a decoder's destination, as
// the file spells it.
func typeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "int64" || t == "integer":
		return "an integer"
	case t == "float64" || t == "float":
		return "a number"
	case t == "bool" || t == "boolean":
		return "true or false"
	case strings.HasPrefix(t, "[]") || t == "slice":
		return "an array"
	case strings.HasPrefix(t, "map[") || t == "map":
		return "a table"
	case t == "time.Time" || t == "toml.LocalDate" || t == "toml.LocalTime" || t == "toml.LocalDatetime":
		return "a date or time"
	case strings.HasPrefix(t, "primitive"):
		return "a string"
	}
	return t
}

// line returns the line of prim's key, 0 when the decoder does not know it.
// The decoder keeps key positions to itself but puts them in its errors, so
// this asks it to decode the value into a type nothing decodes into.
func (d *decoder) line(prim toml.Primitive) int {
	var probe chan struct{}
	err := d.md.PrimitiveDecode(prim, &probe)
	if err == nil {
		return 0
	}
	var line int
	if _, scanErr := fmt.Sscanf(err.Error(), "toml: line %d ", &line); scanErr != nil {
		return 0
	}
	return line
}

// lineOf returns the line of a key named as Validate names it, trying the
// key itself and then the list it indexes ("rules.paths[0]" → "rules.paths").
func lineOf(lines map[string]int, key string) int {
	for {
		if l, ok := lines[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '[')
		if i < 0 || !strings.HasSuffix(key, "]") {
			return 0
		}
		key = key[:i]
	}
}
