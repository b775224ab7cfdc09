package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/rules"
	"github.com/shellwatch/shellwatch/scanner"
)

func newBundledScanner(t *testing.T) *scanner.Scanner {
	t.Helper()
	set, err := rules.Compile(rules.Options{Bundled: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Destroy)
	sc, err := scanner.New(set, nil, scanner.Options{MaxFileSize: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.Close)
	return sc
}

// deployedName is the name a fixture has on a server: the web-config rules
// look at the file name (".htaccess", ".user.ini", "web.config").
func deployedName(fixture string) string {
	switch {
	case strings.HasSuffix(fixture, ".htaccess"):
		return ".htaccess"
	case strings.HasSuffix(fixture, ".user.ini"):
		return ".user.ini"
	case strings.HasSuffix(fixture, ".config"):
		return "web.config"
	}
	return fixture
}

// A minimal JPEG (SOI, APP0 JFIF, COM segment holding payload, EOI): PHP in
// an image comment survives most upload filters that only check the magic.
func jpegWithComment(payload string) []byte {
	b := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
	n := len(payload) + 2
	b = append(b, 0xff, 0xfe, byte(n>>8), byte(n))
	b = append(b, payload...)
	return append(b, 0xff, 0xd9)
}

// Hand-made fixtures (testdata/positive, testdata/negative) pin the rules
// the corpus has few samples for: .htaccess, .user.ini and web.config tricks,
// code hidden in images, and shells written here in the style of families the
// corpus does not hold (Behinder 3, Godzilla, JSPX, unicode-escaped JSP).
// A name ending in "_medium" may be flagged, but at medium at most.
func TestFixtures(t *testing.T) {
	sc := newBundledScanner(t)
	type fixture struct {
		name     string
		content  []byte
		positive bool
	}
	var fixtures []fixture
	for _, kind := range []string{"positive", "negative"} {
		entries, err := os.ReadDir(filepath.Join("testdata", kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata", kind, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			fixtures = append(fixtures, fixture{e.Name(), b, kind == "positive"})
		}
	}
	fixtures = append(fixtures,
		fixture{"polyglot_jpeg_comment_shorttag.jpg", jpegWithComment("<?=`$_GET[0]`?>"), true},
		fixture{"polyglot_jpeg_comment_eval.jpg", jpegWithComment("<?php eval(base64_decode($_POST['z'])); ?>"), true},
		fixture{"plain_jpeg_comment.jpg", jpegWithComment("Created with GIMP <?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>"), false},
	)
	if len(fixtures) < 40 {
		t.Fatalf("only %d fixtures", len(fixtures))
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), deployedName(f.name))
			if err := os.WriteFile(path, f.content, 0o644); err != nil {
				t.Fatal(err)
			}
			v := sc.Scan(path)
			if v.Err != nil {
				t.Fatal(v.Err)
			}
			atMostMedium := strings.Contains(f.name, "_medium")
			switch {
			case f.positive && !v.Flagged():
				t.Errorf("%s (scanned as %s) not flagged", f.name, filepath.Base(path))
			case !f.positive && !atMostMedium && v.Flagged():
				t.Errorf("%s flagged by %v", f.name, v.Matches)
			case atMostMedium && v.Severity > finding.SeverityMedium:
				t.Errorf("%s flagged at %s, want medium at most: %v", f.name, v.Severity, v.Matches)
			}
		})
	}
}
