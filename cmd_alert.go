package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"pigsty/infra/api"
	"pigsty/monitor/alert"
)

func init() { command(400, alertCommand) }

func alertCommand() *cli.Command {
	jsonFlag := &cli.BoolFlag{Name: "json", Usage: "print JSON"}
	return &cli.Command{
		Name:  "alert",
		Usage: "alerts of the infra hosts' rule evaluator: ls (pending and firing), rules (every rule and its health)",
		Subcommands: []*cli.Command{
			{Name: "ls", Usage: "pending and firing alerts, firing first", Flags: append(inventoryFlags(), jsonFlag), Action: alertList},
			{Name: "rules", Usage: "every recording and alert rule, with its state and the error of its last evaluation",
				Flags: append(inventoryFlags(), jsonFlag, &cli.BoolFlag{Name: "failing", Usage: "only rules whose last evaluation failed"}), Action: alertRules},
		},
	}
}

func alertList(c *cli.Context) error {
	var data struct {
		Alerts []alert.APIAlert `json:"alerts"`
	}
	if err := infraGet(c, "/api/v1/alerts", &data); err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, data.Alerts)
	}
	if len(data.Alerts) == 0 {
		fmt.Fprintln(c.App.Writer, "no alerts")
		return nil
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ALERT\tSTATE\tSEVERITY\tCLS\tINS\tSINCE\tVALUE\tSUMMARY")
	for _, a := range data.Alerts {
		v, _ := strconv.ParseFloat(a.Value, 64)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Labels["alertname"], a.State, a.Labels["severity"], dash(a.Labels["cls"]), dash(a.Labels["ins"]),
			a.ActiveAt.Local().Format("2006-01-02 15:04:05"), strconv.FormatFloat(v, 'g', 6, 64), a.Annotations["summary"])
	}
	return w.Flush()
}

func alertRules(c *cli.Context) error {
	var data struct {
		Groups []alert.APIGroup `json:"groups"`
	}
	if err := infraGet(c, "/api/v1/rules", &data); err != nil {
		return err
	}
	if c.Bool("failing") {
		for i := range data.Groups {
			var keep []alert.APIRule
			for _, r := range data.Groups[i].Rules {
				if r.Health == "err" {
					keep = append(keep, r)
				}
			}
			data.Groups[i].Rules = keep
		}
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, data.Groups)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tRULE\tTYPE\tFOR\tSTATE\tHEALTH\tLAST EVALUATION\tERROR")
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			kind, state, dur := "record", "-", "-"
			if r.Type == "alerting" {
				kind, state, dur = "alert", r.State, (time.Duration(r.Duration) * time.Second).String()
			}
			last := "never"
			if !r.LastEvaluation.IsZero() {
				last = r.LastEvaluation.Local().Format("15:04:05")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, r.Name, kind, dur, state, r.Health, last, dash(r.LastError))
		}
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// infraGet reads a route of the infra API (the "data" of its answer) from
// the first infra host that answers.
func infraGet(c *cli.Context, path string, data any) error {
	inv, err := statusInventory(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
	defer cancel()
	var errs []string
	for _, ip := range inv.InfraIPs() {
		if err := getAPI(ctx, ip, path, data); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		return nil
	}
	return cli.Exit("no infra host answers: "+strings.Join(errs, "; "), 1)
}

var apiClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}

func getAPI(ctx context.Context, ip, path string, data any) error {
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(api.Port)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return json.Unmarshal(env.Data, data)
}
