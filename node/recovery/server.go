package recovery

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"pigsty/node/supervisor"
)

// server is a PostgreSQL a recovery starts by itself, with pg_ctl as the
// dbsu: the private replay of an in-place recovery, or a fork. Its only
// unix socket is in a directory of the dbsu's (0700), where pg_hba lets
// local connections in without a password: only root and the dbsu reach
// it.
type server struct {
	data     string
	socket   string // the private socket directory
	port     int
	logFile  string
	bin      string            // PostgreSQL's bin directory
	settings map[string]string // -c settings on the command line
	cred     *syscall.Credential
	home     string
	user     string // the dbsu's role
	config   string // pgbackrest.conf, for restore_command
}

func (s server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + s.home, "LANG=C.UTF-8", "PGBACKREST_CONFIG=" + s.config}
	cmd.Dir = "/"
	return cmd
}

// start starts the postmaster and returns without waiting for recovery.
func (s server) start(ctx context.Context) error {
	var opts []string
	for _, k := range sortedKeys(s.settings) {
		v := s.settings[k]
		if strings.ContainsAny(v, "'\\\n") {
			return fmt.Errorf("start postgres on %s: setting %s=%q cannot be passed", s.data, k, v)
		}
		opts = append(opts, fmt.Sprintf("-c %s='%s'", k, v))
	}
	args := []string{"-D", s.data, "-l", s.logFile, "-W"}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, " "))
	}
	out, err := supervisor.CombinedOutput(s.command(ctx, "pg_ctl", append(args, "start")...))
	if err != nil {
		return fmt.Errorf("pg_ctl start %s: %w: %s", s.data, err, strings.TrimSpace(string(out)))
	}
	// pg_ctl -W returns before the postmaster wrote its pid file; from
	// then on, a missing pid file means the postmaster has stopped.
	deadline := time.Now().Add(time.Minute)
	for {
		if _, ok := s.pid(); ok {
			return nil
		}
		if line := s.lastLog("FATAL", "PANIC"); line != "" {
			return fmt.Errorf("postgres on %s did not start: %s", s.data, message(line))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on %s did not start within a minute: see %s", s.data, s.logFile)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop stops the postmaster (mode fast or immediate) if it runs.
func (s server) stop(ctx context.Context, mode string) error {
	if _, ok := s.pid(); !ok {
		return nil
	}
	out, err := supervisor.CombinedOutput(s.command(ctx, "pg_ctl", "-D", s.data, "-m", mode, "-w", "-t", "300", "stop"))
	if err != nil {
		if _, ok := s.pid(); !ok {
			return nil
		}
		return fmt.Errorf("pg_ctl stop %s: %w: %s", s.data, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pid is the postmaster's, when one runs on the data directory.
func (s server) pid() (int, bool) {
	return supervisor.PIDFromFile(filepath.Join(s.data, "postmaster.pid"), s.data)()
}

// connect opens a session as the dbsu on the private socket.
func (s server) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Database = s.socket, uint16(s.port), s.user, "postgres"
	cfg.ConnectTimeout = 5 * time.Second
	cfg.RuntimeParams["application_name"] = "pigsty pitr"
	return pgx.ConnectConfig(ctx, cfg)
}

// logLines returns the lines of the server's log that contain one of
// the words.
func (s server) logLines(words ...string) []string {
	f, err := os.Open(s.logFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for _, w := range words {
			if strings.Contains(sc.Text(), w) {
				out = append(out, sc.Text())
				break
			}
		}
	}
	return out
}

// lastLog is the last line of the log that contains one of the words.
func (s server) lastLog(words ...string) string {
	lines := s.logLines(words...)
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// message strips the timestamp and pid prefix of a log line.
func message(line string) string {
	for _, level := range []string{"LOG:  ", "FATAL:  ", "ERROR:  ", "WARNING:  ", "PANIC:  ", "INFO: "} {
		if i := strings.Index(line, level); i >= 0 {
			return strings.TrimSpace(line[i:])
		}
	}
	return strings.TrimSpace(line)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// portFree reports whether nothing listens on the port on loopback.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
