// Package ha proves the core HA promises of pigsty against the real
// binary on several hosts of the multi-host harness: hosts joined by
// token build a cluster whose services lead to the right members from
// every host; switchover by command and failover by a cut link never let
// two hosts accept writes at once; services and role-specific HBA follow
// role changes by themselves; repeated cuts and heals lose no
// acknowledged row and leave no replica on a diverged timeline; with
// pg_rpo: 0 no acknowledged row is lost over failovers. TestBench*
// (PIGSTY_BENCH=1, make bench) measure write-unavailability and rows lost.
package ha

import (
	"testing"

	"pigsty/build/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
