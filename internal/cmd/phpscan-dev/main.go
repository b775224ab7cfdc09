// Command phpscan-dev runs the PHP analyzer alone over files or trees and
// prints its findings, or a summary (-sum) with timings: a development aid
// for measuring the analyzer on a corpus. `shellwatch explain` is the
// operator's command.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/phpscan"
)

func main() {
	sum := flag.Bool("sum", false, "one line per flagged file and a summary")
	minSev := flag.String("min", "low", "least severity listed with -sum")
	showSkipped := flag.Bool("skipped", false, "list files skipped as holding nothing to follow")
	slow := flag.Int("slow", 0, "list the N slowest files")
	prof := flag.String("cpuprofile", "", "write a CPU profile")
	steps := flag.Int("steps", 0, "step budget per file (0: the default)")
	memprof := flag.String("memprofile", "", "write an allocation profile at the end")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			panic(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var files []string
	for _, root := range flag.Args() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	type timing struct {
		d time.Duration
		p string
	}
	var times []timing
	sevs := map[string]phpscan.Severity{"low": phpscan.Low, "medium": phpscan.Medium, "high": phpscan.High, "critical": phpscan.Critical}
	least := sevs[*minSev]
	var total, slowest, skippedTime time.Duration
	var parsedBytes, skippedBytes int
	var slowFile string
	analysed, flagged, unparsed, incomplete := 0, 0, 0, 0
	byRule := map[string]int{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || !phpscan.LooksLikePHP(p, b) {
			continue
		}
		analysed++
		start := time.Now()
		r := phpscan.Analyze(b, phpscan.Options{MaxSteps: *steps})
		d := time.Since(start)
		total += d
		times = append(times, timing{d, p})
		if *showSkipped && r.Skipped {
			fmt.Printf("skipped\t%s\n", p)
		}
		if d > slowest {
			slowest, slowFile = d, p
		}
		if !r.Parsed {
			unparsed++
		}
		if r.Skipped {
			skippedTime += d
			skippedBytes += len(b)
		} else {
			parsedBytes += len(b)
		}
		if r.Incomplete != "" {
			incomplete++
		}
		if !*sum {
			fmt.Printf("== %s parsed=%v note=%q errors=%d steps=%d incomplete=%q %s\n", p, r.Parsed, r.ParseNote, r.SyntaxErrors, r.Steps, r.Incomplete, d)
			for _, f := range r.Findings {
				fmt.Println(f)
			}
			for _, f := range r.Folded {
				fmt.Printf("  folded line %d %s: %q\n", f.Line, f.How, f.Value)
			}
			continue
		}
		var names []string
		top := phpscan.Severity(0)
		for _, f := range r.Findings {
			if f.Severity >= least {
				names = append(names, fmt.Sprintf("%s:%d", f.Name, f.Line))
				top = max(top, f.Severity)
			}
		}
		if len(names) > 0 {
			flagged++
			seen := map[string]bool{}
			for _, f := range r.Findings {
				if f.Severity >= least && !seen[f.Name] {
					byRule[f.Name]++
					seen[f.Name] = true
				}
			}
			fmt.Printf("%s\t%s\t%s\n", top, p, strings.Join(names, ","))
		}
	}
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if *sum {
		fmt.Printf("# analysed %d, flagged %d, unparsed %d, incomplete %d, total %s, slowest %s (%s)\n", analysed, flagged, unparsed, incomplete, total, slowest, slowFile)
		fmt.Printf("# skipped %d bytes in %s; parsed %d bytes in %s\n", skippedBytes, skippedTime, parsedBytes, total-skippedTime)
		sort.Slice(times, func(i, j int) bool { return times[i].d > times[j].d })
		for _, t := range times[:min(*slow, len(times))] {
			fmt.Printf("# slow %s %s\n", t.d, t.p)
		}
		rules := make([]string, 0, len(byRule))
		for r := range byRule {
			rules = append(rules, r)
		}
		sort.Strings(rules)
		for _, r := range rules {
			fmt.Printf("#   %-32s %d\n", r, byRule[r])
		}
	}
}
