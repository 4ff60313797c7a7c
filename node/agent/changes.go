package agent

import "sync"

// changeLog keeps what the passes of each instance changed while
// converging to one desired revision, for the instance's status: the
// command that made the revision waits for that status and shows it.
type changeLog struct {
	mu   sync.Mutex
	byID map[string]*revisionChanges
}

type revisionChanges struct {
	rev     int64
	changes []string
}

// add records a change of instance ins at revision rev; a new revision
// starts a new list.
func (l *changeLog) add(ins string, rev int64, change string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[string]*revisionChanges{}
	}
	c := l.byID[ins]
	if c == nil || c.rev != rev {
		c = &revisionChanges{rev: rev}
		l.byID[ins] = c
	}
	c.changes = append(c.changes, change)
}

// of returns the changes of instance ins at revision rev.
func (l *changeLog) of(ins string, rev int64) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.byID[ins]; c != nil && c.rev == rev {
		return append([]string(nil), c.changes...)
	}
	return nil
}

// changed records a change of this pass.
func (r *run) changed(change string) { r.changes.add(r.inst.Name, r.rev, change) }
