package tune

import "fmt"

// TemplateTraits are the parts of a template that shape Patroni's own
// configuration rather than PostgreSQL's parameters.
type TemplateTraits struct {
	SynchronousMode       bool   // DCS synchronous_mode
	SynchronousModeStrict bool   // DCS synchronous_mode_strict
	WatchdogMode          string // off | automatic | required
	DataChecksums         bool   // true: initdb gets data-checksums whatever pg_checksum says
	PatroniLogFiles       int    // Patroni log file_num
	PatroniLogFileSize    int    // Patroni log file_size in bytes
}

const patroniLogFileSize = 32 * mib

// Traits applies a template to pg_rpo and patroni_watchdog_mode. A zero
// pg_rpo asks for synchronous mode on every template; crit always has it,
// strictly, and turns an "off" watchdog into "automatic" because a strict
// primary that cannot be fenced could accept writes after losing its lock.
func Traits(tmpl string, rpo int64, watchdog string) (TemplateTraits, error) {
	t, err := lookup(tmpl)
	if err != nil {
		return TemplateTraits{}, err
	}
	if rpo < 0 {
		return TemplateTraits{}, fmt.Errorf("tune %s: pg_rpo %d: must be 0 (synchronous) or a positive byte count", t.name, rpo)
	}
	tr := t.traits
	tr.PatroniLogFileSize = patroniLogFileSize
	if rpo == 0 {
		tr.SynchronousMode = true
	}
	switch watchdog {
	case "", "off":
		tr.WatchdogMode = "off"
		if t.name == "crit" {
			tr.WatchdogMode = "automatic"
		}
	case "automatic", "required":
		tr.WatchdogMode = watchdog
	default:
		return TemplateTraits{}, fmt.Errorf("tune %s: patroni_watchdog_mode %q: allowed off, automatic, required", t.name, watchdog)
	}
	return tr, nil
}
