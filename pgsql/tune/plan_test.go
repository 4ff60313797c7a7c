package tune

import (
	"strings"
	"testing"
)

func TestParsePlanNamed(t *testing.T) {
	for _, c := range []struct {
		rto  string
		want Plan
	}{
		{"fast", Plan{"fast", 20, 5, 5, 15, 5, "1s", "0.5s", "1s", 3, 3}},
		{"norm", Plan{"norm", 30, 5, 10, 25, 5, "2s", "1s", "2s", 3, 3}},
		{"", Plan{"norm", 30, 5, 10, 25, 5, "2s", "1s", "2s", 3, 3}},
		{" safe ", Plan{"safe", 60, 10, 20, 45, 10, "3s", "1.5s", "3s", 3, 3}},
		{"wide", Plan{"wide", 120, 20, 30, 95, 15, "4s", "2s", "4s", 3, 3}},
	} {
		g, err := ParsePlan(c.rto)
		if err != nil || g != c.want {
			t.Errorf("ParsePlan(%q) = %+v, %v; want %+v", c.rto, g, err, c.want)
		}
	}
	for _, p := range plans {
		if err := p.check(); err != nil {
			t.Errorf("builtin plan %s: %v", p.Name, err)
		}
	}
}

func TestParsePlanSeconds(t *testing.T) {
	for _, c := range []struct {
		rto            string
		ttl, third     int
		timingsOf      string
		wantSafetyFrom string
	}{
		{"21", 21, 7, "norm", "norm"},
		{"30", 30, 10, "norm", "norm"},
		{"33", 33, 11, "safe", "safe"},
		{"60", 60, 20, "safe", "safe"},
		{"63", 63, 21, "wide", "wide"},
		{"120", 120, 40, "wide", "wide"},
		{"300", 300, 100, "wide", "wide"},
	} {
		g, err := ParsePlan(c.rto)
		if err != nil {
			t.Errorf("ParsePlan(%q): %v", c.rto, err)
			continue
		}
		named, _ := ParsePlan(c.timingsOf)
		want := named
		want.Name = ""
		want.TTL, want.LoopWait, want.RetryTimeout, want.PrimaryStartTimeout = c.ttl, c.third, c.third, c.third
		if g != want {
			t.Errorf("ParsePlan(%q) = %+v, want %+v", c.rto, g, want)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	for _, c := range []struct{ rto, want string }{
		{"19", "ttl 19 s is below 20 s, which Patroni 4 refuses"},
		{"0", "below 20 s"},
		{"-30", "below 20 s"},
		{"20", "loop_wait 7 + 2 × retry_timeout 7 = 21 s exceeds ttl 20 s"},
		{"31", "loop_wait 11 + 2 × retry_timeout 11 = 33 s exceeds ttl 31 s"},
		{"61", "exceeds ttl 61 s"},
		{"30s", "allowed fast, norm, safe, wide, or a whole number of seconds"},
		{"NORM", "allowed fast, norm, safe, wide"},
		{"12.5", "whole number of seconds"},
	} {
		_, err := ParsePlan(c.rto)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "pg_rto ") {
			t.Errorf("ParsePlan(%q): error %v, want it to contain %q", c.rto, err, c.want)
		}
	}
}

func TestHAProxyOptions(t *testing.T) {
	for rto, want := range map[string]string{
		"norm": "inter 2s fastinter 1s downinter 2s rise 3 fall 3 on-marked-down shutdown-sessions slowstart 30s maxconn 3000 maxqueue 128 weight 100",
		"fast": "inter 1s fastinter 0.5s downinter 1s rise 3 fall 3 on-marked-down shutdown-sessions slowstart 30s maxconn 3000 maxqueue 128 weight 100",
		"45":   "inter 3s fastinter 1.5s downinter 3s rise 3 fall 3 on-marked-down shutdown-sessions slowstart 30s maxconn 3000 maxqueue 128 weight 100",
	} {
		p, err := ParsePlan(rto)
		if err != nil {
			t.Fatal(err)
		}
		if g := p.HAProxyOptions(); g != want {
			t.Errorf("%s: %q\nwant %q", rto, g, want)
		}
	}
}
