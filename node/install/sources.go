package install

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"pigsty/pgsql/pkgmap"
)

// hostSourcesDir is where enabled sources are written; pigsty's files are
// named pigsty-<repo>.sources so they are easy to find and remove.
const hostSourcesDir = "/etc/apt/sources.list.d"

// sameSite compares apt sites ignoring scheme and trailing slashes: a
// source configured over https is the same source as over http.
func sameSite(a, b string) bool {
	norm := func(s string) string {
		if _, rest, ok := strings.Cut(s, "://"); ok {
			s = rest
		}
		return strings.ToLower(strings.TrimRight(s, "/"))
	}
	return norm(a) == norm(b)
}

// configured reports whether the host's apt already reads repo.
func configured(targets []indexTarget, repo pkgmap.Repo) bool {
	for _, t := range targets {
		if sameSite(t.Site, repo.BaseURL) && t.Release == strings.TrimSuffix(repo.Suite, "/") {
			return true
		}
	}
	return false
}

// deb822 renders repo as a deb822 sources file.
func deb822(repo pkgmap.Repo, arch string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (%s), written by pigsty from repo_upstream\n", repo.Name, repo.Description)
	fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\n", repo.BaseURL, repo.Suite)
	if len(repo.Components) > 0 {
		fmt.Fprintf(&b, "Components: %s\n", strings.Join(repo.Components, " "))
	}
	if arch != "" {
		fmt.Fprintf(&b, "Architectures: %s\n", arch)
	}
	if repo.Keyring != "" {
		fmt.Fprintf(&b, "Signed-By: %s\n", repo.Keyring)
	}
	return b.String()
}

// addHostSource writes an enabled source into the host's apt configuration.
func addHostSource(repo pkgmap.Repo, hostOS pkgmap.OS) (string, error) {
	if repo.Keyring != "" {
		if _, err := os.Stat(repo.Keyring); err != nil {
			return "", fmt.Errorf("source %s: keyring: %w", repo.Name, err)
		}
	}
	path := filepath.Join(hostSourcesDir, "pigsty-"+repo.Name+".sources")
	return path, os.WriteFile(path, []byte(deb822(repo, pkgmap.DebArch(hostOS.Arch))), 0o644)
}

// privateSource is a source read through an apt configuration of pigsty's
// own: its own sources list, lists and cache directories under the state
// dir, and no preferences, so that neither side affects the other.
type privateSource struct {
	repo  pkgmap.Repo
	dir   string
	apt   apt
	stamp string
}

func newPrivateSource(stateDir string, repo pkgmap.Repo, hostOS pkgmap.OS, log io.Writer) (*privateSource, error) {
	if repo.Keyring != "" {
		if _, err := os.Stat(repo.Keyring); err != nil {
			return nil, fmt.Errorf("source %s: keyring: %w", repo.Name, err)
		}
	}
	dir := filepath.Join(stateDir, "apt", repo.Name)
	lists := filepath.Join(dir, "lists")
	cache := filepath.Join(dir, "cache")
	for _, d := range []string{filepath.Join(lists, "partial"), filepath.Join(cache, "archives", "partial"), filepath.Join(dir, "debs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// apt fetches as _apt and warns when it cannot write there.
	if u, err := user.Lookup("_apt"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		for _, d := range []string{filepath.Join(lists, "partial"), filepath.Join(cache, "archives", "partial"), filepath.Join(dir, "debs")} {
			_ = os.Chown(d, uid, -1)
		}
	}
	opts := []string{fmt.Sprintf("arch=%s", pkgmap.DebArch(hostOS.Arch)), "target=Packages"}
	if repo.Keyring != "" {
		opts = append(opts, "signed-by="+repo.Keyring)
	}
	line := fmt.Sprintf("deb [%s] %s %s %s\n", strings.Join(opts, " "), repo.BaseURL, repo.Suite, strings.Join(repo.Components, " "))
	list := filepath.Join(dir, "sources.list")
	if err := os.WriteFile(list, []byte(line), 0o644); err != nil {
		return nil, err
	}
	return &privateSource{
		repo:  repo,
		dir:   dir,
		stamp: filepath.Join(dir, "updated"),
		apt: &aptCmd{log: log, opts: []string{
			"-o", "Dir::Etc::SourceList=" + list,
			"-o", "Dir::Etc::SourceParts=-",
			"-o", "Dir::Etc::Preferences=/dev/null",
			"-o", "Dir::Etc::PreferencesParts=-",
			"-o", "Dir::State::Lists=" + lists,
			"-o", "Dir::Cache=" + cache,
			"-o", "Acquire::Languages=none",
		}},
	}, nil
}
