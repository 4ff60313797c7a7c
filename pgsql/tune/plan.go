package tune

import (
	"fmt"
	"strconv"
	"strings"
)

// Plan is the HA timing plan chosen by pg_rto: Patroni's DCS timings and
// the HAProxy health-check cadence that goes with them.
type Plan struct {
	Name                                                           string // fast | norm | safe | wide; "" when pg_rto was given in seconds
	TTL, LoopWait, RetryTimeout, PrimaryStartTimeout, SafetyMargin int    // seconds
	Inter, FastInter, DownInter                                    string // HAProxy check timings, e.g. "2s"
	Rise, Fall                                                     int
}

const defaultPlan = "norm"

// plans is Pigsty's pg_rto_plan, ordered by ttl.
var plans = []Plan{
	{Name: "fast", TTL: 20, LoopWait: 5, RetryTimeout: 5, PrimaryStartTimeout: 15, SafetyMargin: 5, Inter: "1s", FastInter: "0.5s", DownInter: "1s", Rise: 3, Fall: 3},
	{Name: "norm", TTL: 30, LoopWait: 5, RetryTimeout: 10, PrimaryStartTimeout: 25, SafetyMargin: 5, Inter: "2s", FastInter: "1s", DownInter: "2s", Rise: 3, Fall: 3},
	{Name: "safe", TTL: 60, LoopWait: 10, RetryTimeout: 20, PrimaryStartTimeout: 45, SafetyMargin: 10, Inter: "3s", FastInter: "1.5s", DownInter: "3s", Rise: 3, Fall: 3},
	{Name: "wide", TTL: 120, LoopWait: 20, RetryTimeout: 30, PrimaryStartTimeout: 95, SafetyMargin: 15, Inter: "4s", FastInter: "2s", DownInter: "4s", Rise: 3, Fall: 3},
}

// Patroni 4 refuses a ttl below this.
const minTTL = 20

// ParsePlan reads pg_rto: a plan name (fast, norm, safe, wide; "" = norm)
// or a whole number of seconds as the documentation describes it, where
// ttl = rto and loop_wait = retry_timeout = primary_start_timeout =
// ceil(rto/3). A seconds value borrows the HAProxy timings and watchdog
// safety margin of the plan with the smallest ttl not below it (wide
// beyond 120 s). Settings Patroni would not run are refused.
func ParsePlan(rto string) (Plan, error) {
	s := strings.TrimSpace(rto)
	if s == "" {
		s = defaultPlan
	}
	for _, p := range plans {
		if p.Name == s {
			return p, nil
		}
	}
	secs, err := strconv.Atoi(s)
	if err != nil {
		return Plan{}, fmt.Errorf("pg_rto %q: allowed fast, norm, safe, wide, or a whole number of seconds (at least %d)", rto, minTTL)
	}
	third := secs / 3
	if secs%3 > 0 {
		third++
	}
	p := plans[len(plans)-1]
	for _, named := range plans {
		if named.TTL >= secs {
			p = named
			break
		}
	}
	p.Name = ""
	p.TTL, p.LoopWait, p.RetryTimeout, p.PrimaryStartTimeout = secs, third, third, third
	if err := p.check(); err != nil {
		return Plan{}, fmt.Errorf("pg_rto %q: %w", rto, err)
	}
	return p, nil
}

func (p Plan) check() error {
	if p.TTL < minTTL {
		return fmt.Errorf("ttl %d s is below %d s, which Patroni 4 refuses", p.TTL, minTTL)
	}
	if need := p.LoopWait + 2*p.RetryTimeout; need > p.TTL {
		return fmt.Errorf("loop_wait %d + 2 × retry_timeout %d = %d s exceeds ttl %d s, which Patroni requires to cover them; use a multiple of 3 seconds or a named plan",
			p.LoopWait, p.RetryTimeout, need, p.TTL)
	}
	return nil
}

// HAProxyOptions is the default-server line Pigsty gives every service.
func (p Plan) HAProxyOptions() string {
	return fmt.Sprintf("inter %s fastinter %s downinter %s rise %d fall %d on-marked-down shutdown-sessions slowstart 30s maxconn 3000 maxqueue 128 weight 100",
		p.Inter, p.FastInter, p.DownInter, p.Rise, p.Fall)
}
