package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"pigsty/assets"
	"pigsty/node/facts"
	"pigsty/pgsql/configure"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/pkgmap"
)

func init() { command(100, configureCommand) }

func configureCommand() *cli.Command {
	return &cli.Command{
		Name:  "configure",
		Usage: "detect this host and write a single-node pigsty.yml (Pigsty's ./configure)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ip", Aliases: []string{"i"}, Usage: "this host's address (default: the address of the default route)"},
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "replace every default password with a random one"},
			&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Value: "meta", Usage: "inventory template: " + strings.Join(assets.Confs(), ", ")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "pigsty.yml", Usage: "file to write"},
			&cli.IntFlag{Name: "pg-version", Aliases: []string{"v"}, Usage: "PostgreSQL major (default: the newest installable here)"},
			&cli.BoolFlag{Name: "force", Usage: "overwrite an existing file"},
		},
		Action: runConfigure,
	}
}

func runConfigure(c *cli.Context) error {
	out := c.App.Writer
	path := c.String("output")
	if _, err := os.Stat(path); err == nil && !c.Bool("force") {
		return cli.Exit(fmt.Sprintf("%s exists: not overwriting it without --force", path), 2)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmpl, err := assets.Conf(c.String("conf"))
	if err != nil {
		return cli.Exit(fmt.Sprintf("no template %q; templates: %s", c.String("conf"), strings.Join(assets.Confs(), ", ")), 2)
	}
	f, err := facts.Detect(c.Context, facts.DefaultFSMain)
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	fmt.Fprintf(out, "host      %s  %s  %s (disk of %s)\n", f.Hostname, f.OS, f.Spec().Tag(), f.DiskPath)
	ip := c.String("ip")
	if ip == "" {
		ip = f.PrimaryIP
		if ip == "" {
			return cli.Exit("configure: this host has no default route to take an address from: give one with -i <ip>", 2)
		}
	}
	version, err := pgVersion(c, f)
	if err != nil {
		return err
	}
	conf := "oltp.yml"
	if small(f) {
		conf = "tiny.yml"
	}
	fmt.Fprintf(out, "address   %s\n", ip)
	fmt.Fprintf(out, "postgres  %d, template %s\n", version, conf)

	defs, err := inventory.Parse("(template)", tmpl, nil)
	if err != nil {
		return fmt.Errorf("configure: template %s: %w", c.String("conf"), err)
	}
	res, err := configure.Generate(tmpl, configure.Options{
		IP: ip, PgVersion: version, Conf: conf, Generate: c.Bool("generate"),
		Intranet: defs.Hosts[0].Params.NodeFirewallIntranet,
	})
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	// The result must validate before it is written: configure never
	// leaves behind a file the other commands would reject.
	if _, err := inventory.Parse(path, res.Text, nil); err != nil {
		return fmt.Errorf("configure: the generated inventory does not validate (a bug): %w", err)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(out, "note      %s\n", n)
	}
	if err := writeFileAtomic(path, res.Text, 0o600); err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	fmt.Fprintf(out, "wrote     %s\n", path)
	return nil
}

// pgVersion is --pg-version, or the newest major installable here among
// those pigsty supports.
func pgVersion(c *cli.Context, f facts.Facts) (int, error) {
	if v := c.Int("pg-version"); v != 0 {
		return v, nil
	}
	avail, err := facts.InstallablePGVersions(c.Context)
	if err != nil {
		return 0, fmt.Errorf("configure: find installable PostgreSQL versions: %w (give one with --pg-version)", err)
	}
	for _, v := range avail {
		if slices.Contains(pkgmap.Majors, v) {
			return v, nil
		}
	}
	return 0, cli.Exit(fmt.Sprintf("configure: no supported PostgreSQL major (%v) is installable from this host's sources (found %v): give one with --pg-version", pkgmap.Majors, avail), 2)
}

// small is Pigsty's rule for the tiny template: fewer than 4 cores or
// less than 8 GiB of memory.
func small(f facts.Facts) bool { return f.CPU < 4 || f.MemMB < 8*1024 }

// writeFileAtomic writes through a temporary file and a rename, so that a
// failure never leaves a half-written file in place of the old one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
