package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"pigsty/node/facts"
	"pigsty/node/install"
	"pigsty/pgsql/inventory"
	"pigsty/pgsql/pkgmap"
)

func init() { command(120, installCommand) }

func installCommand() *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "install the packages of this host's instances (pg_packages, pg_extensions)",
		Description: "Translates the package aliases of pg_packages and pg_extensions for this OS, checks that every\n" +
			"package is available before installing anything, then installs them with apt. A second run\n" +
			"changes nothing. On Debian 12 Patroni comes from Debian 13 into pigsty's own directory.",
		Flags: append(inventoryFlags(),
			&cli.StringFlag{Name: "limit", Aliases: []string{"l"}, Usage: "instances to install for: `<cls|ins|ip>` (default: this host's)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "check availability and print the plan only"},
		),
		Action: func(c *cli.Context) error {
			inv, err := loadInventory(c)
			if err != nil {
				return err
			}
			instances, err := targetInstances(inv, c.String("limit"))
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			return installFor(c.Context, instances, c.App.Writer, c.Bool("dry-run"))
		},
	}
}

// installFor installs the packages of the instances (normally the one
// instance of this host), saying what it does on out.
func installFor(ctx context.Context, instances []*inventory.Instance, out io.Writer, dryRun bool) error {
	osinfo, err := facts.DetectOS()
	if err != nil {
		return err
	}
	pkgs, skipped, repos, err := packagesOf(instances, osinfo)
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	var names []string
	for _, i := range instances {
		names = append(names, i.Name)
	}
	fmt.Fprintf(out, "install packages of %s for %s\n", strings.Join(names, ", "), osinfo)
	rep, err := install.Run(ctx, install.Options{Packages: pkgs, Skipped: skipped, Repos: repos, Progress: out, DryRun: dryRun})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if rep.MainCluster != "" && rep.MainCluster != "none" {
		fmt.Fprintf(out, "distribution's main cluster: %s\n", rep.MainCluster)
	}
	return nil
}

// packagesOf merges the packages of several instances (normally the one
// instance of this host) and their package sources.
func packagesOf(instances []*inventory.Instance, osinfo pkgmap.OS) ([]pkgmap.Package, []pkgmap.Skipped, []pkgmap.Repo, error) {
	var pkgs []pkgmap.Package
	var skipped []pkgmap.Skipped
	seen := map[string]bool{}
	for _, i := range instances {
		ps, sk, err := i.Params.Packages(osinfo)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: packages: %w", i.Name, err)
		}
		for _, p := range ps {
			if !seen[p.Name] {
				seen[p.Name] = true
				pkgs = append(pkgs, p)
			}
		}
		skipped = append(skipped, sk...)
	}
	return pkgs, skipped, instances[0].Params.Repos(), nil
}
