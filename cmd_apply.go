package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/change"
	"pigsty/pgsql/inventory"
)

func init() { command(220, applyCommand) }

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "make the clusters what pigsty.yml says: show the plan (SQL and file changes per instance), then apply it and wait",
		Description: "Validates the inventory, plans every change against the stored desired state and the live servers of\n" +
			"this host (the statements each primary will execute, the files each agent will write, passwords\n" +
			"masked), prints the plan, stores the new desired state and waits until every instance reports it.\n" +
			"A second apply of the same file plans nothing. --dry-run prints the plan and changes nothing.",
		Flags: append(changeFlags(),
			&cli.StringFlag{Name: "limit", Aliases: []string{"l"}, Usage: "the change is for these instances only: `<cls|ins|ip>[,…]`; the inventory may change nothing else"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit("usage: pigsty apply -f pigsty.yml [--dry-run] [-l <cls|ins|ip>] [-e k=v] [--yes]", 2)
			}
			r, err := changeRequest(c)
			if err != nil {
				return err
			}
			r.Limit = c.String("limit")
			return runChange(c, r)
		},
	}
}

// changeFlags are the flags of every command that changes the desired
// state.
func changeFlags() []cli.Flag {
	return append(inventoryFlags(),
		&cli.BoolFlag{Name: "dry-run", Usage: "print the plan, change nothing"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "confirm destructive changes: databases with state: recreate are dropped and created again"},
		&cli.BoolFlag{Name: "json", Usage: "print the plan (and the result) as JSON"},
		&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "how long to wait for the instances"},
	)
}

func changeRequest(c *cli.Context) (change.Request, error) {
	path, err := filepath.Abs(c.String("inventory"))
	if err != nil {
		return change.Request{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return change.Request{}, err
	}
	who := "pigsty"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		who += "@" + h
	}
	return change.Request{Root: c.String("root"), Exe: exe, File: path, ExtraVars: c.StringSlice("extra-vars"),
		Yes: c.Bool("yes"), By: who + " (pigsty " + c.Command.FullName() + ")"}, nil
}

// runChange plans a change, prints the plan and, unless it is a dry run,
// applies it. Bad input exits 2 with nothing changed; a failed instance
// exits 1.
func runChange(c *cli.Context, r change.Request) error {
	out := c.App.Writer
	inv, err := inventory.Load(r.File, r.ExtraVars)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\n%s: nothing was changed", err, r.File), 2)
	}
	st, err := openStore(c.Context, r.Root, inv)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	defer st.Close()
	p, err := change.Make(c.Context, st, r)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v\nnothing was changed", err), 2)
	}
	asJSON := c.Bool("json")
	if c.Bool("dry-run") {
		if asJSON {
			return writeJSON(out, p)
		}
		p.Print(out)
		fmt.Fprintln(out, "dry run: nothing was changed")
		return nil
	}
	progress := out
	if asJSON {
		progress = c.App.ErrWriter
	} else {
		p.Print(out)
	}
	if p.Empty() && p.Unchanged {
		if asJSON {
			return writeJSON(out, struct {
				Plan   *change.Plan  `json:"plan"`
				Result change.Result `json:"result"`
			}{p, change.Result{Revision: p.Stored}})
		}
		return nil
	}
	res, err := change.Apply(c.Context, st, p, c.Duration("timeout"), progress)
	if asJSON {
		if jerr := writeJSON(out, struct {
			Plan   *change.Plan  `json:"plan"`
			Result change.Result `json:"result"`
		}{p, res}); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if !asJSON {
		for ins, settings := range res.PendingRestart {
			fmt.Fprintf(out, "%s: %s take effect only after a restart: pigsty pg restart %s --pending\n",
				ins, strings.Join(settings, ", "), clusterOf(p, ins))
		}
		fmt.Fprintf(out, "applied: revision %d\n", res.Revision)
	}
	return nil
}

func clusterOf(p *change.Plan, ins string) string {
	for _, i := range p.Instances {
		if i.Name == ins {
			return i.Cluster
		}
	}
	return ins
}
