// Package dbsu runs SQL as the database superuser. The agent runs as
// root, and the dbsu logs in over the unix socket with peer
// authentication, which checks the OS user of the connecting process; so
// the agent re-executes its own binary as the dbsu (`pigsty run dbsu`),
// hands it a request on stdin and reads progress and results as JSON lines
// on stdout.
package dbsu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pigsty/node/supervisor"
	"pigsty/pgsql/provision"
)

// Request is one job for the dbsu child.
type Request struct {
	Socket string           // unix socket directory
	Port   int              // postgres port
	User   string           // the dbsu's role name
	Steps  []provision.Step // provisioning to apply, in order
	// DryRun plans the steps instead: checks and tries them in
	// transactions that are rolled back, and reports what would run.
	DryRun bool
	// Verifiers asks for the password verifiers of these roles, for
	// pgbouncer's userlist.
	Verifiers []string
	// Facts asks for what a plan needs to know of the server.
	Facts bool
}

// Event is one line the child writes: a step's outcome, or the final result.
type Event struct {
	Title    string `json:"title,omitempty"`
	Database string `json:"database,omitempty"`
	Outcome  string `json:"outcome,omitempty"` // done (in a dry run: would run), skipped, failed
	// Ran are the statements that ran (would run), as the step may show
	// them: none of a secret step, which says Secret instead.
	Ran     []string `json:"ran,omitempty"`
	Secret  bool     `json:"secret,omitempty"`
	Notices []string `json:"notices,omitempty"` // what the statements reported (RAISE NOTICE)
	Error   string   `json:"error,omitempty"`

	Verifiers map[string]string `json:"verifiers,omitempty"`
	Facts     *provision.Facts  `json:"facts,omitempty"`
	Final     bool              `json:"final,omitempty"`
}

// Result is what a request produced.
type Result struct {
	Verifiers map[string]string
	Facts     provision.Facts
}

// Run executes req in a child process running exe (the agent's own
// binary) as the dbsu. progress sees every step's outcome.
func Run(ctx context.Context, exe string, cred *syscall.Credential, home string, req Request, progress func(Event)) (Result, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return Result{}, fmt.Errorf("dbsu request: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "run", "dbsu")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8"}
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(string(in))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := supervisor.StartCommand(cmd); err != nil {
		return Result{}, fmt.Errorf("start dbsu child: %w", err)
	}
	var res Result
	var failed error
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			continue
		}
		if ev.Final {
			res.Verifiers = ev.Verifiers
			if ev.Facts != nil {
				res.Facts = *ev.Facts
			}
			if ev.Error != "" {
				failed = errors.New(ev.Error)
			}
			continue
		}
		if progress != nil {
			progress(ev)
		}
	}
	werr := supervisor.WaitCommand(cmd)
	switch {
	case failed != nil:
		return res, failed
	case werr != nil:
		return res, fmt.Errorf("dbsu child: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return res, nil
}

// Main is the child: `pigsty run dbsu`, running as the dbsu.
func Main(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	enc := json.NewEncoder(stdout)
	var req Request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	final := Event{Final: true}
	err := serve(ctx, req, enc, &final)
	if err != nil {
		final.Error = err.Error()
	}
	return enc.Encode(final)
}

func serve(ctx context.Context, req Request, enc *json.Encoder, final *Event) error {
	var notices []string
	connect := func(ctx context.Context, db string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig("")
		if err != nil {
			return nil, err
		}
		cfg.Host, cfg.Port, cfg.User, cfg.Database = req.Socket, uint16(req.Port), req.User, db
		cfg.RuntimeParams["application_name"] = "pigsty"
		if req.DryRun {
			// a dry run waits for no one: better a failed plan than a hang
			cfg.RuntimeParams["lock_timeout"] = "10s"
			cfg.ConnectTimeout = 10 * time.Second
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			if n.Severity == "NOTICE" || n.Severity == "WARNING" {
				notices = append(notices, n.Message)
			}
		}
		return pgx.ConnectConfig(ctx, cfg)
	}
	if len(req.Steps) > 0 {
		err := provision.Apply(ctx, connect, req.Steps, req.DryRun, func(o provision.Outcome) {
			ev := Event{Title: o.Step.Title, Database: o.Step.Database, Outcome: "done",
				Ran: o.Step.Show(o.Ran), Secret: o.Step.Secret && len(o.Ran) > 0, Notices: notices}
			notices = nil
			switch {
			case errors.Is(o.Err, provision.ErrSkipped):
				ev.Outcome = "skipped"
			case o.Err != nil:
				ev.Outcome, ev.Error = "failed", o.Err.Error()
			}
			_ = enc.Encode(ev)
		})
		if err != nil {
			return err
		}
	}
	if !req.Facts && len(req.Verifiers) == 0 {
		return nil
	}
	conn, err := connect(ctx, "postgres")
	if err != nil {
		return fmt.Errorf("connect as %s on %s:%s: %w", req.User, req.Socket, strconv.Itoa(req.Port), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if len(req.Verifiers) > 0 {
		if final.Verifiers, err = provision.Verifiers(ctx, conn, req.Verifiers); err != nil {
			return err
		}
	}
	if req.Facts {
		f, err := provision.ReadFacts(ctx, conn)
		if err != nil {
			return err
		}
		final.Facts = &f
	}
	return nil
}
