package provision

import "testing"

func TestPasswordMatches(t *testing.T) {
	// stored by PostgreSQL 15 for ALTER ROLE dbuser_meta PASSWORD 'DBUser.Meta'
	scram := "SCRAM-SHA-256$4096:TTrOS3hWXbFUES715Q+7eA==$nWKmZ366gG/w13iZNEi4pA9qP32B6GbsRo+77ugETx8=:YcyK7afcSEQjv9ZZSJslZp6Twcrn2L+2SSYTJekwzl8="
	md5 := md5Verifier("dbuser_meta", "DBUser.Meta")
	for _, c := range []struct {
		name   string
		p      Password
		stored string
		want   bool
	}{
		{"scram plaintext", Password{"dbuser_meta", "DBUser.Meta", "scram-sha-256"}, scram, true},
		{"scram other password", Password{"dbuser_meta", "DBUser.Meta2", "scram-sha-256"}, scram, false},
		{"scram default method", Password{"dbuser_meta", "DBUser.Meta", ""}, scram, true},
		{"scram stored, md5 wanted", Password{"dbuser_meta", "DBUser.Meta", "md5"}, scram, false},
		{"md5 plaintext", Password{"dbuser_meta", "DBUser.Meta", "md5"}, md5, true},
		{"md5 stored, scram wanted", Password{"dbuser_meta", "DBUser.Meta", "scram-sha-256"}, md5, false},
		{"md5 other role", Password{"dbuser_view", "DBUser.Meta", "md5"}, md5, false},
		{"given verifier", Password{"dbuser_meta", scram, "scram-sha-256"}, scram, true},
		{"given md5 verifier", Password{"dbuser_meta", md5, "scram-sha-256"}, md5, true},
		{"given verifier differs", Password{"dbuser_meta", md5, "scram-sha-256"}, scram, false},
		{"nothing stored", Password{"dbuser_meta", "DBUser.Meta", "scram-sha-256"}, "", false},
		{"broken verifier", Password{"dbuser_meta", "DBUser.Meta", "scram-sha-256"}, "SCRAM-SHA-256$x:y$z", false},
	} {
		if got := c.p.matches(c.stored); got != c.want {
			t.Errorf("%s: matches = %v", c.name, got)
		}
	}
	if md5 != "md5d3d10d8cad606308bdb180148bf663e1" {
		t.Errorf("md5 verifier %q", md5)
	}
}

func TestIsVerifier(t *testing.T) {
	for s, want := range map[string]bool{
		"SCRAM-SHA-256$4096:TTrOS3hWXbFUES715Q+7eA==$nWKmZ366gG/w13iZNEi4pA9qP32B6GbsRo+77ugETx8=:YcyK7afcSEQjv9ZZSJslZp6Twcrn2L+2SSYTJekwzl8=": true,
		"md5" + "0123456789abcdef0123456789abcdef": true,
		"md5" + "0123456789abcdef0123456789abcdeg": false,
		"md5password":                  false,
		"SCRAM-SHA-256$not a verifier": false,
		"DBUser.Meta":                  false,
	} {
		if isVerifier(s) != want {
			t.Errorf("isVerifier(%q) = %v", s, !want)
		}
	}
}
