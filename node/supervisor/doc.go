// Package supervisor runs the node agent's long-lived children — Patroni,
// pgbouncer, HAProxy and the binary's own re-executed servers — and the
// short commands the agent runs on the side.
//
// # Children outlive the agent
//
// A child is started by absolute path with exactly the environment its Spec
// gives, with credentials set by the kernel at exec (no sudo or runuser: they
// fork, and the pid we track would be theirs), in a session of its own, and
// without a parent-death signal. Its stdout and stderr are its log file,
// opened in append mode and owned by its user: nothing passes through the
// agent, so the agent can die or be upgraded while PostgreSQL keeps serving.
// Cancelling the Supervisor's context only detaches; Stop and StopAll are the
// only ways a child is stopped.
//
// Each child has a pid file, <runDir>/<name>.pid: the pid on the first line
// and, on the second, a JSON record of the boot id, the start time (field 22
// of /proc/<pid>/stat) and argv. A Supervisor started later on the same
// runDir adopts a live process whose boot id and start time match, and that
// still leads the session it was started in, instead of starting a second
// one; a reused pid has another start time, and a reboot another boot id.
// Neither argv nor the executable is compared: the HAProxy master
// re-executes itself with new arguments on every reload, and a wrapper
// script execs its program. Processes are watched through pidfds, which work for adopted
// processes we cannot wait(2) for, and every signal goes through the pidfd,
// so it can never hit a process that reused the pid. A lock file keeps a
// second Supervisor off a runDir that is in use.
//
// # Reaping
//
// New makes the agent a child subreaper: the postmaster Patroni double-forks,
// and HAProxy workers whose master died, are reparented to the agent, which
// must reap them; a zombie postmaster still answers kill(pid, 0) and a new
// postmaster would refuse to start. The Supervisor reaps every zombie child
// of the process except those somebody registered to wait for themselves.
// The rule for all code in the agent's process is therefore:
//
//   - Run external commands with this package's Run, Output, CombinedOutput,
//     or StartCommand followed by WaitCommand, never with exec.Cmd's own
//     Start/Run/Output. They keep the reaper out from fork until the pid is
//     registered, so it can never take the exit status, and cmd.Wait never
//     fails with "no child processes". Outside the agent (CLI commands) they
//     behave exactly like exec.Cmd's methods.
//   - Code that cannot use them (a library running commands itself) must not
//     put its children in a new session, and must wait for them within
//     5 seconds of their exit: unregistered zombies in the agent's own session
//     are left alone for that long; zombies in other sessions — every orphan
//     from a child's tree, since children run in sessions of their own — are
//     reaped at once.
//
// The reaper finds zombies by reading /proc rather than with a waitid(P_ALL,
// WNOWAIT) peek, which always returns the same first zombie and would hide
// every orphan behind one registered command that has not been waited for
// yet.
//
// # Restarts
//
// A child that exits on its own is restarted at once the first time, then
// after 1 s, 2 s, 4 s … up to 30 s; a child that stayed up for ResetAfter
// starts over. The immediate first restart is what Patroni needs when its
// postmaster (a tracked process) still runs: Patroni re-adopts it, while a
// postmaster nobody manages stays a writable primary whose writes are
// rewound away after a failover. If the child is not ready again within
// GiveUpAfter, or fails, OnGiveUp runs so the agent can fence. More than
// Intensity restarts within Period leave the child failed until the next
// explicit Start.
package supervisor
