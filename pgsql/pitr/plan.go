// Package pitr decides a point-in-time recovery before anything changes:
// from what the user asked (`pigsty pitr` or pg_pitr), the cluster and
// the repository's catalogue it makes a plan — what is restored from
// where, to which target, into which directory, and every step in order
// — and prints it. It runs nothing.
package pitr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"pigsty/pgsql/inventory"
	"pigsty/pgsql/layout"
	"pigsty/pgsql/pgbackrest"
)

// Request is what the user asked for.
type Request struct {
	Cluster string            `json:"cluster"`        // the cluster recovered
	From    string            `json:"from,omitempty"` // whose backups are restored; "" is Cluster's own
	Target  pgbackrest.Target `json:"target"`
	// Rehearse restores into a fork beside the running primary and leaves
	// production untouched; Fork is its id (1–9), Data and Port override
	// the fork's directory and port.
	Rehearse  bool                        `json:"rehearse,omitempty"`
	Fork      int                         `json:"fork,omitempty"`
	Data      string                      `json:"data,omitempty"`
	Port      int                         `json:"port,omitempty"`
	CopyAside bool                        `json:"copy_aside,omitempty"` // copy the data directory to <data>-backup first
	DBInclude []string                    `json:"db_include,omitempty"`
	DBExclude []string                    `json:"db_exclude,omitempty"`
	LinkMap   map[string]string           `json:"link_map,omitempty"`
	Process   int                         `json:"process,omitempty"`
	Repo      map[string]inventory.Scalar `json:"repo,omitempty"` // repository options for the restore, as pgbackrest_repo writes them
}

// FromInventory reads pg_pitr of cluster cls. pg_pitr.cluster names the
// cluster whose backups are restored; data other than pg_data restores
// into that directory beside production, as Pigsty's rehearsal does.
// pg_pitr.archive is not read: pigsty always replays with archiving off
// and turns it back on when it hands the cluster back.
func FromInventory(cls string, p *inventory.PITR, pgData string) Request {
	r := Request{Cluster: cls, Target: pgbackrest.Target{
		Type: p.Type, Set: p.Set, Timeline: p.Timeline, Exclusive: p.Exclusive, Action: p.Action,
	}, CopyAside: p.Backup, DBInclude: p.DBInclude, DBExclude: p.DBExclude, LinkMap: p.LinkMap, Process: p.Process, Repo: p.Repo}
	if p.Cluster != cls {
		r.From = p.Cluster
	}
	// A target key sets the type, as Pigsty's role does.
	for _, k := range []struct{ typ, val string }{{"time", p.Time}, {"xid", p.XID}, {"lsn", p.LSN}, {"name", p.Name}} {
		if k.val != "" {
			r.Target.Type, r.Target.Value = k.typ, k.val
		}
	}
	if p.Data != "" && filepath.Clean(p.Data) != filepath.Clean(pgData) {
		r.Rehearse, r.Data, r.Port = true, p.Data, p.Port
	}
	return r
}

// Fingerprint identifies a request, so that a pg_pitr of the inventory
// runs once.
func (r Request) Fingerprint() string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Kind is what a plan does to the cluster.
type Kind string

const (
	// InPlace restores the cluster's primary in its data directory and
	// hands the cluster back to Patroni; replicas are cloned again.
	InPlace Kind = "in place"
	// Rehearsal restores into a fork beside the running primary.
	Rehearsal Kind = "rehearsal"
	// Clone creates the first member of a new cluster from another
	// cluster's backups.
	Clone Kind = "clone"
)

// Step is one step of a plan.
type Step string

const (
	StepFlush    Step = "flush"    // archive the WAL written so far
	StepPause    Step = "pause"    // Patroni maintenance mode
	StepHold     Step = "hold"     // the agents stop Patroni and PostgreSQL
	StepAside    Step = "aside"    // copy the data directory aside
	StepRestore  Step = "restore"  // pgbackrest restore
	StepReplay   Step = "replay"   // start PostgreSQL and replay to the target
	StepVerify   Step = "verify"   // where recovery stopped, what is there
	StepPromote  Step = "promote"  // end recovery
	StepStanza   Step = "stanza"   // the cluster's stanza follows the restored database
	StepRelease  Step = "release"  // Patroni takes the cluster back
	StepResume   Step = "resume"   // HA resumes
	StepBackup   Step = "backup"   // a new full backup
	StepReplicas Step = "replicas" // replicas cloned from the new primary
	StepFork     Step = "fork"     // the fork keeps running
)

// Plan is a decided recovery.
type Plan struct {
	Request
	// Asked is the fingerprint of the request as it was made, before the
	// plan normalized it: what a record of the run is known by.
	Asked    string
	Kind     Kind
	Instance *inventory.Instance // the member restored into, or forked beside
	Replicas []string            // members cloned again afterwards
	Source   string              // the stanza restored from
	Data     string              // the directory restored into
	Port     int                 // the port the restored instance listens on
	Set      pgbackrest.Backup   // the backup restored, as far as the catalogue tells
	Restore  pgbackrest.Restore
	Steps    []Step
	// Stop is where the flow stops for the user to look — after
	// verification when the action is pause or shutdown — until
	// `pigsty pitr --resume`.
	Stop Step
}

// Facts are what the plan is made from beyond the request, read from
// the host and the repository.
type Facts struct {
	Instance *inventory.Instance // the cluster's member on this host
	Layout   layout.Layout
	Source   pgbackrest.Stanza // the catalogue of the stanza restored from
	Running  bool              // the instance's PostgreSQL runs
	Fresh    bool              // its data directory has no database yet
	Now      time.Time
	// Repo is the repository of the stanza restored from when the
	// request names none: another cluster's local repository on this
	// host.
	Repo map[string]inventory.Scalar
}

// New checks a request against the facts and decides the plan.
func New(req Request, f Facts) (Plan, error) {
	i, l := f.Instance, f.Layout
	p := Plan{Request: req, Asked: req.Fingerprint(), Instance: i, Source: req.Cluster, Data: l.Data(), Port: i.Params.PgPort}
	if req.From != "" && req.From != req.Cluster {
		p.Source = req.From
	}
	t, err := req.Target.Check()
	if err != nil {
		return p, err
	}
	p.Target = t
	switch {
	case req.Rehearse:
		p.Kind = Rehearsal
	case f.Fresh:
		p.Kind = Clone
	default:
		p.Kind = InPlace
	}
	if p.Kind == Rehearsal {
		if p.Fork == 0 {
			p.Fork = 1
		}
		if p.Fork < 1 || p.Fork > 9 {
			return p, fmt.Errorf("fork %d: allowed: 1-9", p.Fork)
		}
		p.Data = ForkData(l, p.Fork)
		if req.Data != "" {
			p.Data = l.Path(req.Data)
		}
		p.Port = ForkPort(i.Params.PgPort, p.Fork)
		if req.Port != 0 {
			p.Port = req.Port
		}
		if p.Data == l.Data() {
			return p, fmt.Errorf("a rehearsal restores beside production, not into %s", l.Data())
		}
		if p.Port == i.Params.PgPort {
			return p, fmt.Errorf("a rehearsal needs a port of its own, not pg_port %d", p.Port)
		}
	}
	if p.Kind == InPlace && p.Instance.Params.PgSafeguard {
		return p, fmt.Errorf("pg_safeguard is on for %s: an in-place recovery overwrites its data; turn it off or rehearse with --rehearse", req.Cluster)
	}
	if err := p.pickSet(f); err != nil {
		return p, err
	}
	repoSpec := req.Repo
	if len(repoSpec) == 0 {
		repoSpec = f.Repo
	}
	repo, err := pgbackrest.RepoOptions(repoSpec, 1, p.Source, l)
	if err != nil {
		return p, fmt.Errorf("repo: %w", err)
	}
	restoreTarget := p.Target
	// Recovery pauses at a target so that it can be verified before it is
	// promoted; shutdown is pgBackRest's own.
	if restoreTarget.Action != "shutdown" {
		restoreTarget.Action = "pause"
	}
	// The backup the plan shows is the one restored.
	if restoreTarget.Type == "time" && restoreTarget.Set == "" {
		restoreTarget.Set = p.Set.Label
	}
	p.Restore = pgbackrest.Restore{Target: restoreTarget, PgPath: p.Data, DBInclude: req.DBInclude, DBExclude: req.DBExclude,
		LinkMap: req.LinkMap, Process: req.Process, Repo: repo}
	if p.Kind == Rehearsal {
		// The fork replays beside production: its archive-get queue and
		// locks must not be production's.
		p.Restore.LockPath = filepath.Join(ForkDir(l, p.Fork), "lock")
		p.Restore.SpoolPath = filepath.Join(ForkDir(l, p.Fork), "spool")
	}
	for _, m := range i.ClusterOf().Instances {
		if m.Name != i.Name {
			p.Replicas = append(p.Replicas, m.Name)
		}
	}
	p.steps(f)
	return p, nil
}

// pickSet finds the backup pgBackRest will restore and refuses a target
// the backups cannot reach.
func (p *Plan) pickSet(f Facts) error {
	src := f.Source
	if !src.Exists() {
		return fmt.Errorf("stanza %s: %s: there is nothing to restore", p.Source, src.Status.Message)
	}
	latest, ok := src.Latest()
	if !ok {
		return fmt.Errorf("stanza %s has no backup to restore", p.Source)
	}
	if p.Target.Set != "" {
		b, ok := src.Find(p.Target.Set)
		if !ok {
			return fmt.Errorf("backup set %s is not in stanza %s (see `pigsty backup ls %s`)", p.Target.Set, p.Source, p.Source)
		}
		p.Set = b
		if p.Target.Type == "time" {
			at, _ := pgbackrest.ParseTime(p.Target.Value)
			if at.Before(b.Stop()) {
				return fmt.Errorf("time %s is before backup %s ended (%s): it cannot be reached from that backup",
					p.Target.Value, b.Label, pgbackrest.FormatTime(b.Stop()))
			}
		}
		return nil
	}
	p.Set = latest
	if p.Target.Type == "time" {
		at, _ := pgbackrest.ParseTime(p.Target.Value)
		if at.After(f.Now) {
			return fmt.Errorf("time %s is in the future", p.Target.Value)
		}
		b, ok := src.SetFor(at)
		if !ok {
			from, _, _ := src.Window()
			return fmt.Errorf("time %s is before the oldest backup of %s ended (%s): the backups cannot reach it",
				p.Target.Value, p.Source, pgbackrest.FormatTime(from))
		}
		p.Set = b
	}
	return nil
}

func (p *Plan) steps(f Facts) {
	add := func(s ...Step) { p.Steps = append(p.Steps, s...) }
	// Everything committed until now must be in the archive before a
	// recent target can be reached.
	if f.Running && p.Source == p.Cluster {
		add(StepFlush)
	}
	switch p.Kind {
	case Rehearsal:
		add(StepRestore, StepReplay, StepVerify)
		if p.Target.Action == "promote" {
			add(StepPromote)
		}
		add(StepFork)
		return
	case InPlace:
		add(StepPause, StepHold)
	case Clone:
		add(StepHold)
	}
	if p.CopyAside {
		add(StepAside)
	}
	add(StepRestore, StepReplay, StepVerify)
	if p.Target.Action != "promote" {
		p.Stop = StepVerify
	}
	add(StepPromote)
	// The stanza must match the database before Patroni starts it with
	// archiving on.
	if p.Source != p.Cluster || p.Kind == Clone {
		add(StepStanza)
	}
	add(StepRelease)
	if p.Kind == InPlace {
		add(StepResume)
	}
	add(StepBackup)
	if len(p.Replicas) > 0 {
		add(StepReplicas)
	}
}

// ForkData is fork n's data directory: pg_data with the id appended, as
// Pigsty's pg-fork (/pg/data1 … /pg/data9).
func ForkData(l layout.Layout, n int) string { return l.Data() + strconv.Itoa(n) }

// ForkDir is where fork n keeps what is not data: its unix socket,
// pgBackRest locks and queue, its log.
func ForkDir(l layout.Layout, n int) string { return filepath.Join(l.Tmp(), "fork"+strconv.Itoa(n)) }

// ForkPort is fork n's port: Pigsty's <n>5432 (pg_port + 10000·n) while
// that is a valid port, which it is for forks 1–6 on 5432; above it,
// pg_port + 1000·n (12432, 13432, 14432 for forks 7–9), which no other
// fork can have.
func ForkPort(pgPort, n int) int {
	if p := pgPort + 10000*n; p <= 65535 {
		return p
	}
	return pgPort + 1000*n
}

// String prints the plan as the user confirms it.
func (p Plan) String() string {
	var b strings.Builder
	i := p.Instance
	switch p.Kind {
	case InPlace:
		fmt.Fprintf(&b, "point-in-time recovery of %s, in place on %s @ %s\n", p.Cluster, i.Name, i.IP)
	case Rehearsal:
		fmt.Fprintf(&b, "point-in-time recovery of %s, rehearsed in fork %d beside %s @ %s (production is not touched)\n", p.Cluster, p.Fork, i.Name, i.IP)
	case Clone:
		fmt.Fprintf(&b, "new cluster %s cloned from the backups of %s, on %s @ %s\n", p.Cluster, p.Source, i.Name, i.IP)
	}
	fmt.Fprintf(&b, "  source   stanza %s, backup %s (%s, ended %s)\n", p.Source, p.Set.Label, p.Set.Type, pgbackrest.FormatTime(p.Set.Stop()))
	fmt.Fprintf(&b, "  target   %s\n", p.Target)
	fmt.Fprintf(&b, "  into     %s, port %d\n", p.Data, p.Port)
	if p.Stop != "" {
		fmt.Fprintf(&b, "  action   %s at the target: the recovery waits there until `pigsty pitr %s --resume`\n", p.Target.Action, p.Cluster)
	}
	b.WriteString("steps\n")
	for n, s := range p.Steps {
		fmt.Fprintf(&b, "  %2d. %s\n", n+1, p.describe(s))
		if s == p.Stop {
			fmt.Fprintf(&b, "      -- stop: %s at the target; the steps below follow `pigsty pitr %s --resume`\n", p.Target.Action, p.Cluster)
		}
	}
	return b.String()
}

func (p Plan) describe(s Step) string {
	i := p.Instance
	switch s {
	case StepFlush:
		return fmt.Sprintf("archive the WAL %s has written so far (switch segment, wait for the archive)", i.Name)
	case StepPause:
		return fmt.Sprintf("pause HA: Patroni maintenance mode for %s", p.Cluster)
	case StepHold:
		return fmt.Sprintf("hold %s: the agents stop Patroni and PostgreSQL and keep them stopped", strings.Join(p.members(), ", "))
	case StepAside:
		return fmt.Sprintf("copy %s to %s-backup", p.Data, p.Data)
	case StepRestore:
		return fmt.Sprintf("restore backup %s of stanza %s into %s (delta: only what differs is copied)", p.Set.Label, p.Source, p.Data)
	case StepReplay:
		if p.Kind == Rehearsal {
			return fmt.Sprintf("start the fork on port %d, archiving off, and replay WAL to the target", p.Port)
		}
		return "start PostgreSQL on a private socket, archiving off, and replay WAL to the target"
	case StepVerify:
		return "verify where recovery stopped: target reached, last transaction replayed, timeline, databases"
	case StepPromote:
		return "promote: end recovery on a new timeline"
	case StepStanza:
		return fmt.Sprintf("create stanza %s for the restored database, or upgrade it when it exists (stanza-upgrade)", p.Cluster)
	case StepRelease:
		return fmt.Sprintf("clear %s's state in etcd and release %s: Patroni starts it and takes the leader key, archiving on", p.Cluster, i.Name)
	case StepResume:
		return "resume HA"
	case StepBackup:
		return fmt.Sprintf("take a full backup of %s", p.Cluster)
	case StepReplicas:
		return fmt.Sprintf("re-initialise %s from the new primary", strings.Join(p.Replicas, ", "))
	case StepFork:
		return fmt.Sprintf("leave the fork running on port %d; remove it with `pigsty fork rm %d`", p.Port, p.Fork)
	}
	return string(s)
}

func (p Plan) members() []string {
	if p.Kind == Clone {
		return []string{p.Instance.Name}
	}
	return append([]string{p.Instance.Name}, p.Replicas...)
}
