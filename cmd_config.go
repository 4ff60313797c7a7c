package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"pigsty/pgsql/inventory"
)

func init() { command(110, configCommand) }

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "validate and inspect the inventory",
		Subcommands: []*cli.Command{
			{
				Name:      "validate",
				Usage:     "check pigsty.yml and report every problem with file:line:column",
				ArgsUsage: " ",
				Flags:     inventoryFlags(),
				Action: func(c *cli.Context) error {
					inv, err := loadInventory(c)
					if err != nil {
						return err
					}
					printWarnings(c.App.ErrWriter, inv)
					fmt.Fprintf(c.App.Writer, "%s: ok (%d hosts, %d clusters, %d instances)\n",
						inv.File, len(inv.Hosts), len(inv.Clusters), len(inv.Instances()))
					return nil
				},
			},
			{
				Name:      "show",
				Usage:     "print the effective configuration of a cluster, instance or host",
				ArgsUsage: "<cls|ins|ip>",
				Flags: append(inventoryFlags(),
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
					&cli.BoolFlag{Name: "secrets", Usage: "show passwords instead of masking them"},
					&cli.StringFlag{Name: "spec", Usage: "tune for a host of this spec, `<cpu>C.<mem>G.<disk>G` (default: this host)"},
				),
				Action: configShow,
			},
			{
				Name:  "defaults",
				Usage: "print the default value of every parameter",
				Action: func(c *cli.Context) error {
					_, err := c.App.Writer.Write(inventory.DefaultsYAML())
					return err
				},
			},
		},
	}
}

// loadInventory reads the inventory named by --inventory with the extra
// vars; a bad inventory exits with code 2 and every problem listed.
func loadInventory(c *cli.Context) (*inventory.Inventory, error) {
	inv, err := inventory.Load(c.String("inventory"), c.StringSlice("extra-vars"))
	if err == nil {
		return inv, nil
	}
	var errs inventory.Errors
	if errors.As(err, &errs) {
		return nil, cli.Exit(fmt.Sprintf("%v\n%s: %d problem(s), nothing was changed", errs, c.String("inventory"), len(errs)), 2)
	}
	return nil, cli.Exit(err.Error(), 2)
}

func printWarnings(w io.Writer, inv *inventory.Inventory) {
	for _, warn := range inv.Warnings {
		fmt.Fprintf(w, "warning: %v\n", warn)
	}
}

func configShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: pigsty config show <cls|ins|ip>", 2)
	}
	inv, err := loadInventory(c)
	if err != nil {
		return err
	}
	instances, err := inv.Select(c.Args().First())
	if err != nil {
		return cli.Exit(err.Error(), 2)
	}
	host, err := hostContext(context.Background(), c.String("spec"))
	if err != nil {
		return err
	}
	views := make([]*instanceView, 0, len(instances))
	for _, i := range instances {
		v, err := newInstanceView(i, host, c.Bool("secrets"))
		if err != nil {
			return fmt.Errorf("effective config of %s: %w", i.Name, err)
		}
		views = append(views, v)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, views)
	}
	for n, v := range views {
		if n > 0 {
			fmt.Fprintln(c.App.Writer, "---")
		}
		if err := v.writeText(c.App.Writer); err != nil {
			return err
		}
	}
	return nil
}
