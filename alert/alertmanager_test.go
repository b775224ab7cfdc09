package alert

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

func TestAlertmanagerURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://am:9093":                       "http://am:9093/api/v2/alerts",
		"http://am:9093/":                      "http://am:9093/api/v2/alerts",
		"http://am:9093/prefix":                "http://am:9093/prefix/api/v2/alerts",
		"http://am:9093/api/v2/alerts":         "http://am:9093/api/v2/alerts",
		"https://am.example/x/api/v2/alerts/":  "https://am.example/x/api/v2/alerts/",
		"https://am.example/x?tenant=payments": "https://am.example/x/api/v2/alerts?tenant=payments",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := alertmanagerURL(u).String(); got != want {
			t.Errorf("alertmanagerURL(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestAlertmanagerName(t *testing.T) {
	for k, want := range map[Kind]string{
		KindDetection:     "ShellwatchDetection",
		KindIOCMatch:      "ShellwatchIocMatch",
		KindReloadFailed:  "ShellwatchRulesReloadFailed",
		KindAlertsDropped: "ShellwatchAlertsDropped",
	} {
		if got := AlertmanagerName(k); got != want {
			t.Errorf("AlertmanagerName(%s) = %s, want %s", k, got, want)
		}
	}
}

// amAlertRead is what GET /api/v2/alerts returns of an alert.
type amAlertRead struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
}

// TestWebhookToRealAlertmanager sends a detection with a hostile path
// through the webhook to a real Alertmanager and reads it back from its
// API with the labels and annotations on-call routes by.
func TestWebhookToRealAlertmanager(t *testing.T) {
	baseURL := testenv.Alertmanager(t)
	log, _ := testLogger(t)
	w, err := NewWebhook(WebhookOptions{URL: baseURL, Format: FormatAlertmanager, SpoolDir: t.TempDir(),
		Secret: []byte("s"), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert(1, finding.SeverityCritical)
	a.Time = time.Now().UTC().Truncate(time.Second) // Alertmanager keeps alerts that have not ended
	a.File.Path = "/var/www/html/up/x\n\xff.php"
	a.Rules = append(a.Rules, Rule{Name: "php_obfuscated_base64", Severity: finding.SeverityHigh})
	if err := w.Deliver(a); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitTimeout, "Alertmanager to accept the alert", func() bool { return w.Stats().Delivered == 1 })
	closeWebhook(t, w)

	q := url.Values{"filter": {`alert_id="` + a.ID + `"`}}
	resp, err := http.Get(baseURL + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []amAlertRead
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Alertmanager holds %d alerts with alert_id %s, want 1", len(got), a.ID)
	}
	wantLabels := map[string]string{
		"alertname": "ShellwatchDetection",
		"severity":  "critical",
		"host":      "web1",
		"kind":      "detection",
		"path":      `"/var/www/html/up/x\n\xff.php"`,
		"rule":      "php_webshell_eval",
		"alert_id":  a.ID,
	}
	for k, v := range wantLabels {
		if got[0].Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[0].Labels[k], v)
		}
	}
	for k, v := range map[string]string{
		"summary":  a.Message,
		"sha256":   a.File.SHA256,
		"rules":    "php_webshell_eval,php_obfuscated_base64",
		"action":   ActionQuarantined,
		"vault_id": "v1",
	} {
		if got[0].Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got[0].Annotations[k], v)
		}
	}
	if !strings.Contains(got[0].Annotations["description"], "webshell") {
		t.Errorf("description %q", got[0].Annotations["description"])
	}
	if !got[0].StartsAt.Equal(a.Time) {
		t.Errorf("startsAt %v, want %v", got[0].StartsAt, a.Time)
	}
}
