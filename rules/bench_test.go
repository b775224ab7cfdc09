package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hillu/go-yara/v4"
)

// bundledRule is the source text of one bundled rule, cut out of its file so
// that it can be compiled alone (with the rules its condition names).
type bundledRule struct {
	file, name string
	text       string
	deps       []string // rules named in the condition, to compile first
}

// ruleStart finds where a rule begins: our files start each rule at the
// beginning of a line.
var ruleStart = regexp.MustCompile(`(?m)^(?:(?:private|global)[ \t]+)*rule[ \t]+([A-Za-z_][A-Za-z0-9_]*)`)

var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// bundledRules cuts every bundled file into its rules, in file order.
func bundledRules(t testing.TB) []bundledRule {
	t.Helper()
	srcs, _, err := collectSources(Options{Bundled: true})
	if err != nil {
		t.Fatal(err)
	}
	var all []bundledRule
	for _, src := range srcs {
		locs := ruleStart.FindAllStringSubmatchIndex(src.text, -1)
		for i, loc := range locs {
			end := len(src.text)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			all = append(all, bundledRule{file: src.name, name: src.text[loc[2]:loc[3]], text: src.text[loc[0]:end]})
		}
	}
	names := make(map[string]bool, len(all))
	for _, r := range all {
		names[r.name] = true
	}
	for i, r := range all {
		_, cond, ok := strings.Cut(r.text, "condition:")
		if !ok {
			t.Fatalf("%s: rule %s has no condition", r.file, r.name)
		}
		for _, id := range identifier.FindAllString(cond, -1) {
			if names[id] && id != r.name && !slices.Contains(all[i].deps, id) {
				all[i].deps = append(all[i].deps, id)
			}
		}
	}
	return all
}

// compileAlone compiles rule r with the rules it names (and theirs), in the
// bundled namespace.
func compileAlone(t testing.TB, all []bundledRule, r bundledRule) *yara.Rules {
	t.Helper()
	byName := make(map[string]bundledRule, len(all))
	for _, x := range all {
		byName[x.name] = x
	}
	var text strings.Builder
	done := map[string]bool{}
	var add func(bundledRule)
	add = func(x bundledRule) {
		if done[x.name] {
			return
		}
		done[x.name] = true
		for _, d := range x.deps {
			add(byName[d])
		}
		text.WriteString(x.text)
		text.WriteString("\n")
	}
	add(r)
	c, err := yara.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Destroy()
	for _, name := range []string{ExternalFilename, ExternalFilepath, ExternalExtension} {
		if err := c.DefineVariable(name, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddString(text.String(), BundledNamespace); err != nil {
		t.Fatalf("%s: rule %s alone: %v %v", r.file, r.name, err, c.Errors)
	}
	compiled, err := c.GetRules()
	if err != nil {
		t.Fatal(err)
	}
	return compiled
}

// The benchmark below compiles each rule alone from the text cut out of its
// file: the cutting must find every rule the set compiles, private ones
// included, and each must compile alone.
func TestBundledRulesCutOneByOne(t *testing.T) {
	set, err := Compile(Options{Bundled: true})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Destroy()
	compiled := set.Compiled().GetRules()
	all := bundledRules(t)
	if len(all) != len(compiled) {
		t.Fatalf("cut %d rules out of the bundled files, the set has %d", len(all), len(compiled))
	}
	for _, r := range all {
		rs := compileAlone(t, all, r)
		found := false
		for _, x := range rs.GetRules() {
			found = found || x.Identifier() == r.name
		}
		rs.Destroy()
		if !found {
			t.Errorf("%s: rule %s alone compiles to a set without it", r.file, r.name)
		}
	}
}

// padFragment is one piece of adversarial padding: repeated, it partially
// matches what the bundled rules look for, so every atom the rules' strings
// and regexes have is hit again and again and their conditions count
// matches by the hundred thousand.
type padFragment struct {
	name, text string
}

// padFragments start what the rules look for in each language, without
// ever finishing it (so nothing matches, and every match is tried).
var padFragments = []padFragment{
	{"eval", "eval("},
	{"eval-space", "eval ( @"},
	{"assert", "assert("},
	{"base64_decode", "base64_decode("},
	{"post", "$_POST["},
	{"request", "$_REQUEST['cmd']"},
	{"dollar-brace", "${\"_"},
	{"chr", "chr(101)."},
	{"hex-escapes", `"\x65\x76\x61\x6c"`},
	{"octal-escapes", `"\145\166\141"`},
	{"concat", "'e'.'v'."},
	{"base64-run", "ZXZhbCgkX1BPU1RbJ2NtZCddKTs"},
	{"system", "system($"},
	{"preg_replace", "preg_replace('/x/e',"},
	{"php-open", "<?php "},
	{"asp-open", "<%"},
	{"asp-eval", "eval(Request(\""},
	{"asp-execute", "Execute Request.Form(\""},
	{"server-object", "Server.CreateObject(\""},
	{"wscript", "WScript.Shell"},
	{"aspx", "<%@ Page Language=\"C#\" %>"},
	{"request-item", "Request.Item[\""},
	{"process-start", "Process.Start("},
	{"assembly-load", "Assembly.Load("},
	{"runtime", "Runtime.getRuntime("},
	{"getparameter", "request.getParameter(\""},
	{"classloader", "defineClass("},
	{"jsp-entity", "&#x52;"},
	{"perl", "param('"},
	{"python", "os.system("},
	{"cfm", "<cfexecute "},
	{"js", "document.write(unescape('%3C"},
	{"fromcharcode", "String.fromCharCode(60,"},
	{"referer", "HTTP_REFERER google "},
	{"htaccess", "AddType application/x-httpd-php "},
	{"newline", "\n"},
	{"space", " "},
	{"url", "http://"},
}

// padding returns text repeated to exactly size bytes; wrapped, in a file
// that opens PHP and ASP code and ends with a shell, the way a padded shell
// does, so that the rules' gates on "<?php" or "<%" are open and their
// conditions run over every match. Bare padding matters too: a regex that
// may start at ^ never matches in the wrapped file, and one that needs only
// "<%" and a word may match at its start and be tried no more.
func padding(text string, size int, wrapped bool) []byte {
	pad := strings.Repeat(text, size/len(text)+1)[:size]
	if wrapped {
		pad = "<?php /* <%\n" + pad + "\n%> */ @eval($_POST['x']); ?>\n"
	}
	return []byte(pad)
}

// BenchmarkRulePadding scans adversarial padding of 64 KiB and 1 MiB
// (every padFragment, and all of them interleaved; bare and in a PHP file
// ending with a shell) with each bundled rule
// compiled alone, and reports the time of each size and their ratio: 16
// means the rule's cost grows with the size, as it must; much more means it
// grows faster, and an attacker can pad a shell until the scan times out.
// Run it once over every rule:
//
//	go test ./rules -run '^$' -bench RulePadding -benchtime 1x
//
// and with -v to see, for a rule over 24, which padding costs the most.
func BenchmarkRulePadding(b *testing.B) {
	const small, large = 64 << 10, 1 << 20
	var pads []padFragment
	var smalls, larges [][]byte
	for _, p := range append(slices.Clone(padFragments), padFragment{"mix", mixFragment()}) {
		for _, wrapped := range []bool{false, true} {
			name := p.name
			if wrapped {
				name += " (in a PHP file)"
			}
			pads = append(pads, padFragment{name, p.text})
			smalls, larges = append(smalls, padding(p.text, small, wrapped)), append(larges, padding(p.text, large, wrapped))
		}
	}
	all := bundledRules(b)
	for _, r := range all {
		b.Run(r.name, func(b *testing.B) {
			rs := compileAlone(b, all, r)
			defer rs.Destroy()
			sc, err := yara.NewScanner(rs)
			if err != nil {
				b.Fatal(err)
			}
			defer sc.Destroy()
			for _, def := range [][2]string{{ExternalFilename, "x.php"}, {ExternalFilepath, "/var/www/x.php"}, {ExternalExtension, ".php"}} {
				if err := sc.DefineVariable(def[0], def[1]); err != nil {
					b.Fatal(err)
				}
			}
			sc.SetFlags(yara.ScanFlagsFastMode)
			sc.SetTimeout(time.Minute)
			scan := func(data []byte) time.Duration {
				var found yara.MatchRules
				sc.SetCallback(&found)
				start := time.Now()
				if err := sc.ScanMem(data); err != nil {
					b.Fatalf("%s: %v", r.name, err)
				}
				return time.Since(start)
			}
			tSmall, tLarge := make([]time.Duration, len(pads)), make([]time.Duration, len(pads))
			for b.Loop() {
				for i := range pads {
					tSmall[i] += scan(smalls[i])
					tLarge[i] += scan(larges[i])
				}
			}
			var sumSmall, sumLarge time.Duration
			costliest := 0
			for i := range pads {
				sumSmall += tSmall[i]
				sumLarge += tLarge[i]
				if tLarge[i] > tLarge[costliest] {
					costliest = i
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(sumSmall.Microseconds())/n/1000, "ms/64KiB")
			b.ReportMetric(float64(sumLarge.Microseconds())/n/1000, "ms/1MiB")
			b.ReportMetric(float64(sumLarge)/float64(sumSmall), "ratio")
			b.Logf("%s: costliest padding %q: %.1f ms for 1 MiB, %.1f times its 64 KiB", r.name, pads[costliest].name,
				float64(tLarge[costliest].Microseconds())/n/1000, float64(tLarge[costliest])/float64(tSmall[costliest]))
		})
	}
}

// mixFragment interleaves every fragment, for rules whose conditions tie
// the matches of several strings together.
func mixFragment() string {
	var s strings.Builder
	for _, p := range padFragments {
		fmt.Fprintf(&s, "%s ", p.text)
	}
	return s.String()
}
