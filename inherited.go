package main

import (
	"os"
	"strconv"
	"syscall"
)

// keepInheritedToSelf marks every descriptor this process inherited beyond
// stdin, stdout and stderr close-on-exec: the children pigsty supervises
// (PostgreSQL, Patroni, pgbouncer, HAProxy) outlive the shell that started
// it and must not hold what that shell had open — a lock file held by
// flock(1) stayed locked for as long as PostgreSQL ran.
func keepInheritedToSelf() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
