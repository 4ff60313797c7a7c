package recovery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/pitr"
)

// Fork is a copy of an instance that runs beside it, as Pigsty's pg-fork
// makes: /pg/data<n>, a port of its own, archiving off.
type Fork struct {
	ID      int    `json:"id"`
	Data    string `json:"data"`
	Port    int    `json:"port"`
	Socket  string `json:"socket"`
	PID     int    `json:"pid,omitempty"` // 0 when it does not run
	Cluster string `json:"cluster_name"`
}

// forkMark starts the settings pigsty appends to a fork's
// postgresql.auto.conf.
const forkMark = "# fork of "

// ForkOptions is what `pigsty fork` was given.
type ForkOptions struct {
	ID   int
	Port int    // 0: pitr.ForkPort
	Exe  string // the pigsty binary, re-executed as the dbsu to copy
}

// MakeFork clones instance i, running or stopped, into fork o.ID and
// starts it: a hot copy between pg_backup_start and pg_backup_stop when
// the instance runs, a plain copy when it does not. The fork recovers to
// the copy's consistent point on its own and runs as a primary of its
// own, with archiving off.
func MakeFork(ctx context.Context, i *inventory.Instance, o ForkOptions, e Env) (Fork, error) {
	l := e.Layout
	if o.ID < 1 || o.ID > 9 {
		return Fork{}, fmt.Errorf("fork %d: allowed: 1-9", o.ID)
	}
	port := o.Port
	if port == 0 {
		port = pitr.ForkPort(i.Params.PgPort, o.ID)
	}
	if port < 1 || port > 65535 || port == i.Params.PgPort {
		return Fork{}, fmt.Errorf("port %d: allowed: a free port other than pg_port", port)
	}
	fk := Fork{ID: o.ID, Data: pitr.ForkData(l, o.ID), Port: port, Socket: pitr.ForkDir(l, o.ID), Cluster: fmt.Sprintf("%s-fork%d", i.Cluster, o.ID)}
	if exists(fk.Data) {
		return fk, fmt.Errorf("fork %d exists (%s): `pigsty fork rm %d` first", o.ID, fk.Data, o.ID)
	}
	if !portFree(port) {
		return fk, fmt.Errorf("port %d is taken: give the fork another with --port", port)
	}
	f := &flow{e: e}
	say := func(s string) { f.say("    %s", s) }
	if err := f.dbsuDir(fk.Socket); err != nil {
		return fk, err
	}
	req := CopyRequest{Src: l.Data(), Dst: fk.Data}
	if _, running := f.postmaster(); running {
		req.Hot, req.Socket, req.Port, req.User = true, l.Socket(), i.Params.PgPort, i.Params.PgDbsu
		req.Label = fmt.Sprintf("pigsty_fork_%d", o.ID)
		f.say("==> hot copy of %s into %s (pg_backup_start … pg_backup_stop)", l.Data(), fk.Data)
	} else {
		f.say("==> copy of %s (stopped) into %s", l.Data(), fk.Data)
	}
	if err := copyAs(ctx, o.Exe, e.Cred, e.Home, req, say); err != nil {
		os.RemoveAll(fk.Data)
		return fk, err
	}
	for _, signal := range []string{"standby.signal", "recovery.signal"} {
		os.Remove(filepath.Join(fk.Data, signal))
	}
	if err := f.configureFork(i, fk); err != nil {
		return fk, err
	}
	srv := fk.server(l.BinDir(exists), e, i)
	f.say("==> start fork %d on port %d", o.ID, port)
	if err := srv.start(ctx); err != nil {
		return fk, err
	}
	err := poll(ctx, 10*time.Minute, func() (bool, string, error) {
		if _, ok := srv.pid(); !ok {
			f.srv = srv
			return false, "", fmt.Errorf("the fork stopped: %s", f.failure())
		}
		c, err := srv.connect(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		defer c.Close(ctx)
		var inRecovery bool
		if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			return false, err.Error(), nil
		}
		return !inRecovery, "recovering", nil
	})
	fk.PID, _ = srv.pid()
	return fk, err
}

func (fk Fork) server(bin string, e Env, i *inventory.Instance) server {
	return server{data: fk.Data, socket: fk.Socket, port: fk.Port, logFile: filepath.Join(fk.Socket, "postgres.log"),
		bin: bin, cred: e.Cred, home: e.Home, user: i.Params.PgDbsu}
}

// forkConfig makes the rehearsal's restored directory a fork.
func (f *flow) forkConfig() error {
	i := f.p.Instance
	return f.configureFork(i, Fork{ID: f.p.Fork, Data: f.p.Data, Port: f.p.Port, Socket: f.srv.socket, Cluster: fmt.Sprintf("%s-fork%d", i.Cluster, f.p.Fork)})
}

// configureFork writes what makes a copy run beside its source: a port,
// socket directory and cluster name of its own, its own HBA and ident
// files (the copied ones, after a line that lets its private socket in),
// archiving off. The settings go last in postgresql.auto.conf, so that
// `pg_ctl -D <fork> start` alone runs it the same way.
func (f *flow) configureFork(i *inventory.Instance, fk Fork) error {
	hba, err := os.ReadFile(filepath.Join(fk.Data, "pg_hba.conf"))
	if err != nil {
		return fmt.Errorf("fork %d: %w", fk.ID, err)
	}
	if !strings.HasPrefix(string(hba), trustLocal) {
		if err := f.writeDbsu(filepath.Join(fk.Data, "pg_hba.conf"), append([]byte(trustLocal), hba...), 0o600); err != nil {
			return err
		}
	}
	auto := filepath.Join(fk.Data, "postgresql.auto.conf")
	cur, err := os.ReadFile(auto)
	if err != nil {
		return err
	}
	if k := strings.Index(string(cur), forkMark); k >= 0 {
		cur = cur[:k]
	}
	var b strings.Builder
	b.Write(cur)
	fmt.Fprintf(&b, "%s%s, fork %d, written by pigsty: a port and socket of its own, archiving off\n", forkMark, i.Name, fk.ID)
	for _, kv := range [][2]string{
		{"port", strconv.Itoa(fk.Port)}, {"unix_socket_directories", fk.Socket}, {"cluster_name", fk.Cluster},
		{"hba_file", filepath.Join(fk.Data, "pg_hba.conf")}, {"ident_file", filepath.Join(fk.Data, "pg_ident.conf")},
		{"archive_mode", "off"}, {"logging_collector", "off"},
	} {
		fmt.Fprintf(&b, "%s = '%s'\n", kv[0], kv[1])
	}
	return f.writeDbsu(auto, []byte(b.String()), 0o600)
}

// Forks lists the forks of this host's instance.
func Forks(i *inventory.Instance, e Env) []Fork {
	var out []Fork
	for n := 1; n <= 9; n++ {
		data := pitr.ForkData(e.Layout, n)
		auto, err := os.ReadFile(filepath.Join(data, "postgresql.auto.conf"))
		if err != nil || !strings.Contains(string(auto), forkMark) {
			continue
		}
		fk := Fork{ID: n, Data: data, Socket: pitr.ForkDir(e.Layout, n)}
		settings := string(auto[strings.Index(string(auto), forkMark):])
		for _, line := range strings.Split(settings, "\n") {
			k, v, ok := strings.Cut(line, " = ")
			if !ok {
				continue
			}
			v = strings.Trim(v, "'")
			switch k {
			case "port":
				fk.Port, _ = strconv.Atoi(v)
			case "cluster_name":
				fk.Cluster = v
			}
		}
		fk.PID, _ = fk.server("", e, i).pid()
		out = append(out, fk)
	}
	return out
}

// RemoveFork stops fork n and deletes it.
func RemoveFork(ctx context.Context, i *inventory.Instance, n int, e Env) error {
	for _, fk := range Forks(i, e) {
		if fk.ID != n {
			continue
		}
		if err := fk.server(e.Layout.BinDir(exists), e, i).stop(ctx, "fast"); err != nil {
			return err
		}
		if err := os.RemoveAll(fk.Data); err != nil {
			return err
		}
		return os.RemoveAll(fk.Socket)
	}
	return fmt.Errorf("no fork %d of %s", n, i.Name)
}
