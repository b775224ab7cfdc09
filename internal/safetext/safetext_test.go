package safetext

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Paths of any bytes survive JSON exactly, in lists and fields, and a valid
// path stays readable.
func TestExactPathsRoundTripJSON(t *testing.T) {
	paths := Paths{"/var/www/ok.php", "/var/www/bad\xff\xfe.php", "/var/www/new\nline.php", "base64:AAAA", ""}
	type doc struct {
		List Paths    `json:"list"`
		One  JSONPath `json:"one"`
	}
	in := doc{List: paths, One: JSONPath(paths[1])}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out doc
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip through %s:\n got %q\nwant %q", data, out, in)
	}
	if ExactPath("/var/www/ok.php") != "/var/www/ok.php" {
		t.Error("a valid path is not carried as it is")
	}
	if _, err := FromExactPath("base64:!!"); err == nil {
		t.Error("bad base64 accepted")
	}
}
