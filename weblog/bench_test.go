package weblog

import (
	"fmt"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/weblogtest"
)

// BenchmarkIndexReport: the report of one URL from an index filled to its
// default memory bound with a busy server's requests (the window's worth:
// about 600,000 requests, 75 MB of log lines), parsed from generated
// combined lines; the URL has 300 requests among them.
func BenchmarkIndexReport(b *testing.B) {
	now := t0.Add(30 * time.Minute)
	x := NewIndex(IndexOptions{Now: func() time.Time { return now }})
	format := mustFormat(b, "nginx:combined")
	var logBytes int64
	for i := 0; x.Stats().CutShort == 0; i++ {
		at := t0.Add(time.Duration(i) * time.Millisecond * 2)
		target := fmt.Sprintf("/shop/item/%d.html?q=%d", i%50000, i%97)
		client := fmt.Sprintf("198.51.%d.%d", i%200, i%251)
		if i%2000 == 0 {
			target, client = "/up/x.php?c=id", "203.0.113.7"
		}
		l := weblogtest.Line(client, at, "GET", target, 200, i%40000, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		logBytes += int64(len(l))
		r, err := format.Parse([]byte(l[:len(l)-1]))
		if err != nil {
			b.Fatal(err)
		}
		x.Add(r)
	}
	s := x.Stats()
	born := t0.Add(15 * time.Minute)
	var rep Report
	for b.Loop() {
		rep = x.Report(Target{Path: "/up/x.php"}, born, 30*time.Second)
	}
	b.ReportMetric(float64(s.Entries), "requests")
	b.ReportMetric(float64(s.Bytes)/(1<<20), "index-MiB")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	if rep.Count == 0 || len(rep.DroppedBy) == 0 {
		b.Fatalf("report %+v", rep)
	}
}
