package harness

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var reMarker = regexp.MustCompile(`/pigsty-harness-(\d{1,3})-`)

// SweepStale removes what runs that died without cleaning up left behind:
// for every slot with a namespace, link or process of the harness whose
// lock nobody holds, it takes the lock, kills the processes of the slot's
// namespaces and those outside this process's namespace naming its roots
// (a namespace whose name is gone), waits for them to exit, and
// deletes the slot's veths, namespaces and bridge. A slot a live run
// holds is never touched, nor anything not named after a slot. Roots are
// left on disk: they are what one inspects after a crash.
func SweepStale() error {
	links, nss, err := netObjects()
	if err != nil {
		return err
	}
	stale := map[int]bool{}
	for s := range links {
		stale[s] = true
	}
	for s := range nss {
		stale[s] = true
	}
	for _, p := range processes() {
		for _, s := range markedSlots(p) {
			stale[s] = true
		}
	}
	var errs []error
	for s := range stale {
		l, err := tryLockSlot(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if l == nil {
			continue // a live run's
		}
		if err := sweepSlot(s); err != nil {
			errs = append(errs, fmt.Errorf("slot %d: %w", s, err))
		}
		l.release()
	}
	return errors.Join(errs...)
}

// markedSlots are the slots whose root marker the process names.
func markedSlots(p process) []int {
	text := strings.Join(p.args, " ")
	if env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ"); err == nil {
		text += " " + string(env)
	}
	var out []int
	for _, m := range reMarker.FindAllStringSubmatch(text, -1) {
		if s, ok := parseSlot(m); ok {
			out = append(out, s)
		}
	}
	return out
}

// sweepSlot kills everything of a slot whose lock the caller holds and
// removes its network.
func sweepSlot(slot int) error {
	_, nss, err := netObjects()
	if err != nil {
		return err
	}
	inodes := map[uint64]bool{}
	for _, ns := range nss[slot] {
		if ino, err := netnsInode(ns); err == nil {
			inodes[ino] = true
		}
	}
	marker, own := rootMarker(slot), ownNetns()
	kerr := killAll(func(p process) bool {
		return p.netns != own && (inodes[p.netns] || p.mentions(marker))
	}, 10*time.Second)
	return errors.Join(kerr, removeNet(slot))
}

// The janitor is this test binary re-executed in a session of its own: it
// waits for its parent to end, however it ends (a test timeout's panic,
// SIGKILL, os.Exit), then sweeps every slot left behind, which the
// parent's death has unlocked.
const janitorEnv = "PIGSTY_HARNESS_JANITOR"

// startJanitor starts the janitor; its stdin is a pipe whose write end
// only this process holds (close-on-exec), so EOF means this process is
// gone.
func startJanitor() (*os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = []string{janitorEnv + "=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = r // stdout and stderr: /dev/null, so `go test` does not wait for it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the janitor: %w", err)
	}
	return w, cmd.Process.Release()
}

// janitor is the janitor process's main.
func janitor() int {
	io.Copy(io.Discard, os.Stdin)
	if err := SweepStale(); err != nil {
		return 1
	}
	return 0
}
