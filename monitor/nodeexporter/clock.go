package nodeexporter

import (
	"context"

	"golang.org/x/sys/unix"

	"pigsty/monitor/promtext"
)

func (e *Exporter) time(_ context.Context, set *promtext.Set) error {
	now := e.opt.Now()
	set.Add("node_time_seconds", "System time in seconds since epoch (1970).", promtext.Gauge, float64(now.UnixNano())/1e9)
	zone, offset := now.Zone()
	set.Add("node_time_zone_offset_seconds", "System time zone offset in seconds.", promtext.Gauge, float64(offset), label("time_zone", zone))
	return nil
}

// timeError is what adjtimex returns while the clock is not synchronized
// (TIME_ERROR): NodeTimeDrift alerts on node_timex_sync_status.
const timeError = 5

// timex is the kernel's clock discipline, as adjtimex(2) reads it.
func (e *Exporter) timex(_ context.Context, set *promtext.Set) error {
	var tx unix.Timex
	state, err := e.opt.Timex(&tx)
	if err != nil {
		return err
	}
	offsetUnit := 1e-6
	if tx.Status&unix.STA_NANO != 0 {
		offsetUnit = 1e-9
	}
	set.Add("node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).", promtext.Gauge, b2f(state != timeError))
	set.Add("node_timex_offset_seconds", "Time offset in between local system and reference clock.", promtext.Gauge, float64(tx.Offset)*offsetUnit)
	set.Add("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.", promtext.Gauge, 1+float64(tx.Freq)/65536/1e6)
	set.Add("node_timex_maxerror_seconds", "Maximum error in seconds.", promtext.Gauge, float64(tx.Maxerror)/1e6)
	set.Add("node_timex_estimated_error_seconds", "Estimated error in seconds.", promtext.Gauge, float64(tx.Esterror)/1e6)
	set.Add("node_timex_status", "Value of the status array bits.", promtext.Gauge, float64(tx.Status))
	set.Add("node_timex_loop_time_constant", "Phase-locked loop time constant.", promtext.Gauge, float64(tx.Constant))
	set.Add("node_timex_tick_seconds", "Seconds between clock ticks.", promtext.Gauge, float64(tx.Tick)/1e6)
	set.Add("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.", promtext.Gauge, float64(tx.Tai))
	return nil
}

func (e *Exporter) uname(_ context.Context, set *promtext.Set) error {
	var u unix.Utsname
	if err := e.opt.Uname(&u); err != nil {
		return err
	}
	set.Add("node_uname_info", "Labeled system information as provided by the uname system call.", promtext.Gauge, 1,
		label("sysname", unix.ByteSliceToString(u.Sysname[:])), label("release", unix.ByteSliceToString(u.Release[:])),
		label("version", unix.ByteSliceToString(u.Version[:])), label("machine", unix.ByteSliceToString(u.Machine[:])),
		label("nodename", unix.ByteSliceToString(u.Nodename[:])), label("domainname", unix.ByteSliceToString(u.Domainname[:])))
	return nil
}
