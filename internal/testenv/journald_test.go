package testenv

import (
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

func TestJournaldRoundTripsBinaryValues(t *testing.T) {
	// Parallel users of one process share one journald.
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reader := Journald(t)
			id := rand.Text()
			binary := "line one\nline two \xff\xfe"
			err := journal.Send("testenv "+name, journal.PriInfo, map[string]string{
				"SHELLWATCH_TESTENV_ID": id,
				"SHELLWATCH_TESTENV_V":  binary,
			})
			if err != nil {
				t.Fatal(err)
			}
			entries := reader.WaitEntries(t, 30*time.Second, 1, "SHELLWATCH_TESTENV_ID="+id)
			if got := FieldBytes(entries[0], "SHELLWATCH_TESTENV_V"); string(got) != binary {
				t.Errorf("binary field came back as %q, want %q", got, binary)
			}
			if got := FieldBytes(entries[0], "MESSAGE"); string(got) != "testenv "+name {
				t.Errorf("MESSAGE %q", got)
			}
		})
	}
}

func TestFieldBytesReadsEveryForm(t *testing.T) {
	var entry map[string]any
	err := json.Unmarshal([]byte(`{
		"TEXT": "plain",
		"BINARY": [47, 10, 255],
		"EMPTY_BINARY": [],
		"TWICE": ["a", [98, 10]],
		"NULL": null
	}`), &entry)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want []string
	}{
		{"TEXT", []string{"plain"}},
		{"BINARY", []string{"/\n\xff"}},
		{"EMPTY_BINARY", []string{""}},
		{"TWICE", []string{"a", "b\n"}},
		{"NULL", nil},
		{"ABSENT", nil},
	} {
		got := FieldValues(entry, c.name)
		if len(got) != len(c.want) {
			t.Errorf("FieldValues(%s) = %q, want %q", c.name, got, c.want)
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("FieldValues(%s)[%d] = %q, want %q", c.name, i, got[i], c.want[i])
			}
		}
		if len(c.want) > 0 && string(FieldBytes(entry, c.name)) != c.want[0] {
			t.Errorf("FieldBytes(%s) = %q, want %q", c.name, FieldBytes(entry, c.name), c.want[0])
		}
	}
}
