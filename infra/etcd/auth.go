package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/authpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Grant is one user of the cluster and the key prefixes it may read and
// write.
type Grant struct {
	User, Password string
	Prefixes       []string
}

// EnableAuth turns authentication on, as Pigsty's etcd role does: a root
// user with rootPassword, and the users of grants, each with a role of its
// own name limited to its prefixes. It is idempotent: with authentication
// already on it only makes sure the users and grants exist. a carries no
// user; it is the cluster's endpoints and CA.
func EnableAuth(ctx context.Context, a Access, rootPassword string, grants ...Grant) error {
	cli, err := a.Client(ctx)
	if err != nil {
		return err
	}
	st, err := cli.AuthStatus(ctx)
	cli.Close()
	// With authentication on, an anonymous client cannot even ask.
	enabled := errors.Is(err, rpctypes.ErrUserEmpty) || (err == nil && st.Enabled)
	if err != nil && !enabled {
		return fmt.Errorf("etcd: auth status: %w", err)
	}
	root := a.As("root", rootPassword)
	if !enabled {
		cli, err = a.Client(ctx)
		if err != nil {
			return err
		}
		defer cli.Close()
		if _, err := cli.UserAdd(ctx, "root", rootPassword); err != nil && !errors.Is(err, rpctypes.ErrUserAlreadyExist) {
			return fmt.Errorf("etcd: add root: %w", err)
		}
		if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
			return fmt.Errorf("etcd: grant root: %w", err)
		}
		if err := ensureGrants(ctx, cli, grants); err != nil {
			return err
		}
		if _, err := cli.AuthEnable(ctx); err != nil {
			return fmt.Errorf("etcd: enable authentication: %w", err)
		}
		return nil
	}
	cli, err = root.Client(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return ensureGrants(ctx, cli, grants)
}

// EnsureUser creates or updates one user with the root access.
func EnsureUser(ctx context.Context, root Access, g Grant) error {
	cli, err := root.Client(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return ensureGrants(ctx, cli, []Grant{g})
}

// ensureGrants makes sure of users, roles and permissions, changing only
// what differs: every change of etcd's auth store retires the tokens of
// all its clients (Patroni's among them), so a repeated call must be free.
func ensureGrants(ctx context.Context, cli *clientv3.Client, grants []Grant) error {
	for _, g := range grants {
		if _, err := cli.RoleAdd(ctx, g.User); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
			return fmt.Errorf("etcd: add role %s: %w", g.User, err)
		}
		if err := permit(ctx, cli, g.User, g.Prefixes); err != nil {
			return err
		}
		if _, err := cli.UserAdd(ctx, g.User, g.Password); errors.Is(err, rpctypes.ErrUserAlreadyExist) {
			if _, err := cli.Authenticate(ctx, g.User, g.Password); err != nil {
				if _, err := cli.UserChangePassword(ctx, g.User, g.Password); err != nil {
					return fmt.Errorf("etcd: password of %s: %w", g.User, err)
				}
			}
		} else if err != nil {
			return fmt.Errorf("etcd: add user %s: %w", g.User, err)
		}
		u, err := cli.UserGet(ctx, g.User)
		if err != nil {
			return fmt.Errorf("etcd: user %s: %w", g.User, err)
		}
		if !slices.Contains(u.Roles, g.User) {
			if _, err := cli.UserGrantRole(ctx, g.User, g.User); err != nil {
				return fmt.Errorf("etcd: grant role %s: %w", g.User, err)
			}
		}
	}
	return nil
}

// permit grants role read and write on the prefixes it lacks.
func permit(ctx context.Context, cli *clientv3.Client, role string, prefixes []string) error {
	r, err := cli.RoleGet(ctx, role)
	if err != nil {
		return fmt.Errorf("etcd: role %s: %w", role, err)
	}
	for _, p := range prefixes {
		end := clientv3.GetPrefixRangeEnd(p)
		if slices.ContainsFunc(r.Perm, func(have *authpb.Permission) bool {
			return string(have.Key) == p && string(have.RangeEnd) == end && have.PermType == authpb.READWRITE
		}) {
			continue
		}
		if _, err := cli.RoleGrantPermission(ctx, role, p, end, clientv3.PermissionType(clientv3.PermReadWrite)); err != nil {
			return fmt.Errorf("etcd: grant %s on %s: %w", role, p, err)
		}
	}
	return nil
}

// Permit lets an existing role read and write more prefixes.
func Permit(ctx context.Context, root Access, role string, prefixes ...string) error {
	cli, err := root.Client(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	return permit(ctx, cli, role, prefixes)
}
