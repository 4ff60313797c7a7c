package tune

import (
	"fmt"
	"math"
	"strings"
)

// template is what one of Pigsty's pg_conf files (oltp.yml, olap.yml,
// crit.yml, tiny.yml) does differently from the others.
type template struct {
	name string

	// max_connections when pg_max_conn is auto: behind pgbouncer, and direct.
	autoConnPooled, autoConnDirect int

	maintenanceRatio       float64
	workMemMin, workMemMax int
	// max_locks_per_transaction in units of max_connections, without and
	// with citus or timescaledb preloaded.
	locks, locksExt int

	// The formulas below take the processor count. workerProcesses is the
	// value before the 8 extra slots the templates add when writing it.
	workerProcesses, parallelWorkers, parallelGather, parallelMaintenance, ioWorkers func(cpu int) int

	// temp_file_limit is this many twentieths of the disk.
	tempFileTwentieths int

	parallelCostPenalty bool
	vacuumCostDelay     string
	vacuumCostLimit     string
	walWriterDelay      string
	walWriterFlushAfter string
	idleSlotTimeout     string
	deferCleanupAge     bool
	partitionwise       bool
	statisticsTarget    string
	logMinDuration      string
	logLockFailures     bool
	// log_connections on PG18 and before it; "" leaves the default.
	logConnections18, logConnectionsOld string
	logDisconnections                   bool
	trackCostDelayTiming                bool
	trackActivityQuerySize              string
	autovacuumWorkers                   string
	autovacuumThresholds                [2]string // vacuum, analyze
	autovacuumScaleFactors              bool
	idleInTransactionTimeout            string
	pgStatStatementsMax                 string
	duckdbCommunity                     bool

	traits TemplateTraits
}

const defaultTemplate = "oltp"

var templates = []*template{
	{
		name:                     "oltp",
		autoConnPooled:           500,
		autoConnDirect:           1000,
		maintenanceRatio:         0.25,
		workMemMin:               64,
		workMemMax:               1024,
		locks:                    1,
		locksExt:                 2,
		workerProcesses:          func(c int) int { return max(c+8, 16) },
		parallelWorkers:          func(c int) int { return max(ceilMul(c, 0.5), 2) },
		parallelGather:           func(c int) int { return min(max(floorMul(c, 0.2), 2), 8) },
		parallelMaintenance:      func(c int) int { return max(ceilMul(c, 0.33), 2) },
		ioWorkers:                func(c int) int { return min(max(ceilMul(c, 0.25), 4), 16) },
		tempFileTwentieths:       1,
		parallelCostPenalty:      true,
		vacuumCostDelay:          "20ms",
		vacuumCostLimit:          "2000",
		walWriterDelay:           "20ms",
		walWriterFlushAfter:      "1MB",
		idleSlotTimeout:          "7d",
		statisticsTarget:         "400",
		logMinDuration:           "100",
		logLockFailures:          true,
		logConnections18:         "authorization",
		trackActivityQuerySize:   "8192",
		autovacuumWorkers:        "3",
		autovacuumThresholds:     [2]string{"500", "250"},
		autovacuumScaleFactors:   true,
		idleInTransactionTimeout: "10min",
		pgStatStatementsMax:      "10000",
		duckdbCommunity:          true,
		traits:                   TemplateTraits{PatroniLogFiles: 4},
	},
	{
		name:                     "olap",
		autoConnPooled:           500,
		autoConnDirect:           500,
		maintenanceRatio:         0.5,
		workMemMin:               64,
		workMemMax:               8192,
		locks:                    2,
		locksExt:                 4,
		workerProcesses:          func(c int) int { return max(c+12, 20) },
		parallelWorkers:          func(c int) int { return max(ceilMul(c, 0.8), 2) },
		parallelGather:           func(c int) int { return max(floorMul(c, 0.5), 2) },
		parallelMaintenance:      func(c int) int { return max(ceilMul(c, 0.33), 2) },
		ioWorkers:                func(c int) int { return min(max(ceilMul(c, 0.5), 4), 32) },
		tempFileTwentieths:       4,
		vacuumCostDelay:          "10ms",
		vacuumCostLimit:          "10000",
		walWriterDelay:           "20ms",
		walWriterFlushAfter:      "1MB",
		idleSlotTimeout:          "7d",
		partitionwise:            true,
		statisticsTarget:         "1000",
		logMinDuration:           "1000",
		logConnections18:         "authorization",
		trackCostDelayTiming:     true,
		trackActivityQuerySize:   "8192",
		autovacuumWorkers:        "3",
		autovacuumThresholds:     [2]string{"1000", "500"},
		autovacuumScaleFactors:   true,
		idleInTransactionTimeout: "0",
		pgStatStatementsMax:      "10000",
		duckdbCommunity:          true,
		traits:                   TemplateTraits{PatroniLogFiles: 4},
	},
	{
		name:                     "crit",
		autoConnPooled:           500,
		autoConnDirect:           1000,
		maintenanceRatio:         0.25,
		workMemMin:               64,
		workMemMax:               1024,
		locks:                    1,
		locksExt:                 2,
		workerProcesses:          func(c int) int { return max(c+8, 16) },
		parallelWorkers:          func(c int) int { return max(ceilMul(c, 0.5), 2) },
		parallelGather:           func(int) int { return 0 },
		parallelMaintenance:      func(c int) int { return max(ceilMul(c, 0.33), 2) },
		ioWorkers:                func(c int) int { return min(max(ceilMul(c, 0.25), 4), 8) },
		tempFileTwentieths:       1,
		parallelCostPenalty:      true,
		vacuumCostDelay:          "20ms",
		vacuumCostLimit:          "2000",
		walWriterDelay:           "10ms",
		walWriterFlushAfter:      "0",
		idleSlotTimeout:          "3d",
		deferCleanupAge:          true,
		statisticsTarget:         "400",
		logMinDuration:           "100",
		logLockFailures:          true,
		logConnections18:         "receipt,authentication,authorization",
		logConnectionsOld:        "on",
		logDisconnections:        true,
		trackCostDelayTiming:     true,
		trackActivityQuerySize:   "32768",
		autovacuumWorkers:        "3",
		autovacuumThresholds:     [2]string{"500", "250"},
		autovacuumScaleFactors:   true,
		idleInTransactionTimeout: "1min",
		pgStatStatementsMax:      "10000",
		traits: TemplateTraits{
			SynchronousMode:       true,
			SynchronousModeStrict: true,
			DataChecksums:         true,
			PatroniLogFiles:       16,
		},
	},
	{
		name:                     "tiny",
		autoConnPooled:           250,
		autoConnDirect:           250,
		maintenanceRatio:         0.25,
		workMemMin:               16,
		workMemMax:               256,
		locks:                    1,
		locksExt:                 2,
		workerProcesses:          func(c int) int { return max(c+4, 12) },
		parallelWorkers:          func(c int) int { return max(floorMul(c, 0.5), 1) },
		parallelGather:           func(int) int { return 0 },
		parallelMaintenance:      func(c int) int { return max(floorMul(c, 0.33), 1) },
		ioWorkers:                func(int) int { return 3 },
		tempFileTwentieths:       1,
		vacuumCostDelay:          "20ms",
		vacuumCostLimit:          "2000",
		walWriterDelay:           "20ms",
		walWriterFlushAfter:      "1MB",
		idleSlotTimeout:          "7d",
		statisticsTarget:         "200",
		logMinDuration:           "100",
		trackActivityQuerySize:   "8192",
		autovacuumWorkers:        "2",
		autovacuumThresholds:     [2]string{"500", "250"},
		idleInTransactionTimeout: "10min",
		pgStatStatementsMax:      "2500",
		duckdbCommunity:          true,
		traits:                   TemplateTraits{PatroniLogFiles: 4},
	},
}

// Templates lists the builtin pg_conf templates, the default first.
func Templates() []string {
	names := make([]string, len(templates))
	for i, t := range templates {
		names[i] = t.name
	}
	return names
}

// lookup accepts a template by name, with or without Pigsty's ".yml"
// suffix, so pg_conf values can be passed as they are written.
func lookup(name string) (*template, error) {
	n := strings.TrimSuffix(strings.TrimSpace(name), ".yml")
	if n == "" {
		n = defaultTemplate
	}
	for _, t := range templates {
		if t.name == n {
			return t, nil
		}
	}
	return nil, fmt.Errorf("tune: unknown pg_conf template %q: allowed %s (optionally with .yml)", name, strings.Join(Templates(), ", "))
}

// Jinja's round(0, 'ceil') and round(0, 'floor') work on the float product,
// so these do too: the results must match Pigsty's at every core count.
func ceilMul(n int, f float64) int  { return int(math.Ceil(float64(n) * f)) }
func floorMul(n int, f float64) int { return int(math.Floor(float64(n) * f)) }
