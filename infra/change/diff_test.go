package change

import (
	"strings"
	"testing"
)

func TestLineDiff(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\n"
	cur := "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\n"
	got := lineDiff(old, cur, func(s string) string { return s })
	want := "@@ -1 +1 @@\n  a\n  b\n- c\n+ C\n  d\n  e\n@@ -8 +8 @@\n  h\n  i\n+ j\n"
	if got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if lineDiff(old, old, func(s string) string { return s }) != "" {
		t.Error("equal texts differ")
	}
}

// Passwords are masked on lines that speak of one, and only there.
func TestMask(t *testing.T) {
	m := masker{"pigsty", "DBUser.DBA"}
	for in, want := range map[string]string{
		"    user admin insecure-password pigsty":  "    user admin insecure-password ********",
		"    user haproxy insecure-password other": "    user haproxy insecure-password ********",
		"# managed by pigsty, do not edit":         "# managed by pigsty, do not edit",
		"host=/tmp/pigsty-1/run":                   "host=/tmp/pigsty-1/run",
		"password: DBUser.DBA # the admin's":       "password: ******** # the admin's",
	} {
		if got := m.mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
	if got := userlistLine(`"dbuser_meta" "SCRAM-SHA-256$4096:abc"`); got != `"dbuser_meta" ********` || strings.Contains(got, "SCRAM") {
		t.Errorf("userlist line %q", got)
	}
}
