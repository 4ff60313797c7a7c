package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/change"
	"pigsty/pgsql/inventory"
)

func init() { command(225, pgsqlCommand) }

// pgsqlSubcommands are the `pigsty pgsql` commands; features add theirs
// with pgsqlSubcommand from their own files.
var pgsqlSubcommands []*cli.Command

func pgsqlSubcommand(c *cli.Command) { pgsqlSubcommands = append(pgsqlSubcommands, c) }

// pgsqlCommand is Pigsty's bin/pgsql-* scripts as commands of pigsty:
// each is `pigsty apply` limited to some objects of one cluster.
func pgsqlCommand() *cli.Command {
	scoped := func(name, args, usage, kind string, needNames bool) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: args, Flags: changeFlags(),
			Description: "The inventory may change nothing but these objects: anything else is refused (use pigsty apply).\n" +
				"Prints the plan, applies it and waits, as pigsty apply does.",
			Action: func(c *cli.Context) error {
				if c.NArg() < 1 || (needNames && c.NArg() < 2) {
					return cli.Exit(fmt.Sprintf("usage: pigsty pgsql %s %s", name, args), 2)
				}
				r, err := changeRequest(c)
				if err != nil {
					return err
				}
				r.Scope = change.Scope{Kind: kind, Cluster: c.Args().First()}
				if needNames {
					r.Scope.Names = c.Args().Slice()[1:]
					if err := definedIn(r, kind); err != nil {
						return cli.Exit(err.Error(), 2)
					}
				} else {
					r.Scope.IPs = c.Args().Slice()[1:]
				}
				return runChange(c, r)
			},
		}
	}
	return &cli.Command{
		Name:  "pgsql",
		Usage: "day-2 changes of one cluster, as Pigsty's bin/pgsql-user, -db, -hba, -svc and -rm",
		Subcommands: append([]*cli.Command{
			scoped("user", "<cls> <user…>", "create, change or drop users as the inventory defines them", "user", true),
			scoped("db", "<cls> <db…>", "create, change, drop or recreate databases as the inventory defines them", "db", true),
			scoped("hba", "<cls> [ip…]", "bring pg_hba.conf and pgb_hba.conf to the inventory's rules (a reload, never a restart)", "hba", false),
			scoped("svc", "<cls> [ip…]", "bring the HAProxy services to the inventory", "svc", false),
			{
				Name: "rm", Usage: "remove a cluster or some of its instances: replicas first, data, backups, packages, DCS keys",
				ArgsUsage: "<cls> [ip…]",
				Description: "Refuses under pg_safeguard (override with -e pg_safeguard=false). What goes with an instance\n" +
					"follows pg_rm_data, pg_rm_backup (primary only) and pg_rm_pkg. The remaining members render their\n" +
					"services again. Delete the removed instances from the inventory afterwards.",
				Flags: append(inventoryFlags(),
					&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed, change nothing"},
					&cli.BoolFlag{Name: "json", Usage: "print the removal plan as JSON"},
					&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "how long to wait for each removal"},
				),
				Action: pgsqlRemove,
			},
		}, pgsqlSubcommands...),
	}
}

// definedIn checks that the users or databases a scoped command names
// are defined in the cluster's inventory, as Pigsty's scripts require.
func definedIn(r change.Request, kind string) error {
	inv, err := inventory.Load(r.File, r.ExtraVars)
	if err != nil {
		return fmt.Errorf("%v\n%s: nothing was changed", err, r.File)
	}
	c := inv.Cluster(r.Scope.Cluster)
	if c == nil {
		_, err := inv.Select(r.Scope.Cluster)
		return fmt.Errorf("no cluster %s: %v", r.Scope.Cluster, err)
	}
	i := c.Instances[0]
	for _, name := range r.Scope.Names {
		found := false
		if kind == "user" {
			for _, u := range i.Users {
				found = found || u.Name == name
			}
		} else {
			for _, db := range i.Databases {
				found = found || db.Name == name
			}
		}
		if !found {
			what := "pg_users"
			if kind == "db" {
				what = "pg_databases"
			}
			return fmt.Errorf("%s is not defined in %s of %s (%s): define it there first", name, what, r.Scope.Cluster, r.File)
		}
	}
	return nil
}

func pgsqlRemove(c *cli.Context) error {
	if c.NArg() < 1 {
		return cli.Exit("usage: pigsty pgsql rm <cls> [ip…] [-e pg_safeguard=false]", 2)
	}
	r, err := changeRequest(c)
	if err != nil {
		return err
	}
	inv, err := inventory.Load(r.File, r.ExtraVars)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\n%s: nothing was changed", err, r.File), 2)
	}
	st, err := openStore(c.Context, r.Root, inv)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer st.Close()
	rm, err := change.PlanRemoval(c.Context, st, r, c.Args().First(), c.Args().Slice()[1:])
	if err != nil {
		if errors.Is(err, change.ErrSafeguard) {
			return cli.Exit(fmt.Sprintf("pigsty pgsql rm: %v\nnothing was changed", err), 2)
		}
		return cli.Exit(fmt.Sprintf("%v\nnothing was changed", err), 2)
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, rm); err != nil {
			return err
		}
	} else {
		rm.Print(c.App.Writer)
	}
	if c.Bool("dry-run") {
		fmt.Fprintln(c.App.Writer, "dry run: nothing was changed")
		return nil
	}
	if err := rm.Apply(c.Context, st, c.Duration("timeout"), c.App.Writer); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintln(c.App.Writer, "removed")
	return nil
}
