// Package metricstest reads scraped Prometheus metrics in tests.
package metricstest

import dto "github.com/prometheus/client_model/go"

// Value returns the value of the series of family name whose labels
// include want (label, value pairs), and whether there is one; a histogram
// gives its sample count.
func Value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	mf := fams[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if labels[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}
