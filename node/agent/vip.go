package agent

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"pigsty/node/vip"
	"pigsty/pgsql/patroni"
)

func init() { register(850, "vip", (*run).vip) }

// vipWatch is the running VIP loop of this host, replaced when the VIP's
// definition changes.
type vipWatch struct {
	mu   sync.Mutex
	key  string        // interface, address and Patroni endpoint it runs for
	stop chan struct{} // closed to end the loop and release the address
}

// vip keeps the cluster's L2 VIP (pg_vip_enabled, pg_vip_address,
// pg_vip_interface) on whichever member is the leader. A loop polls the
// local Patroni every second — faster than convergence passes — binding
// the address while this member holds the leader key and releasing it
// when it does not, as vip-manager does.
func (r *run) vip(ctx context.Context) error {
	p := r.inst.Params
	w := &r.vips
	w.mu.Lock()
	defer w.mu.Unlock()
	key := ""
	if p.PgVipEnabled {
		key = strings.Join([]string{p.PgVipInterface, p.PgVipAddress, r.inst.IP}, "|")
	}
	if w.key == key {
		return nil
	}
	if w.stop != nil {
		close(w.stop)
		w.stop = nil
	}
	w.key = key
	if key == "" {
		return nil
	}
	w.stop = make(chan struct{})
	go followLeader(r.runCtx, w.stop, r.client(), p.PgVipInterface, p.PgVipAddress,
		r.log.With("vip", p.PgVipAddress, "interface", p.PgVipInterface))
	return nil
}

// followLeader binds the VIP while the local member is the leader and
// releases it otherwise — also when Patroni does not answer: a member
// that cannot show it leads must not hold the address. Closing stop
// releases it; the agent's exit (ctx) leaves it where it is for the next
// agent.
func followLeader(ctx context.Context, stop <-chan struct{}, api *patroni.Client, ifname, addr string, log *slog.Logger) {
	release := func(why string) {
		if removed, err := vip.Release(ifname, addr); err != nil {
			log.Warn("cannot release the VIP", "err", err)
		} else if removed {
			log.Info("VIP released", "why", why)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		code, err := api.Check(ctx, "/primary")
		if err == nil && code == http.StatusOK {
			if added, err := vip.Bind(ifname, addr); err != nil {
				log.Warn("cannot bind the VIP", "err", err)
			} else if added {
				log.Info("VIP bound: this member is the leader")
			}
		} else if ctx.Err() == nil {
			release("this member is not the leader")
		}
		select {
		case <-ctx.Done():
			return
		case <-stop:
			release("the VIP changed or was disabled")
			return
		case <-tick.C:
		}
	}
}
