package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// AddLearner adds a member to the running cluster as a
// learner (it gets the data before it votes, so a slow new member never
// costs the cluster its quorum) and returns the initial-cluster string the
// new member starts with. A member already in the cluster is not added
// again.
func AddLearner(ctx context.Context, a Access, name, peerURL string) (string, error) {
	cli, list, err := members(ctx, a)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	known := false
	for _, m := range list.Members {
		for _, u := range m.PeerURLs {
			known = known || u == peerURL
		}
	}
	// A member refuses to change the cluster until it has been connected
	// to a majority for a few seconds: right after the previous member
	// joined, or after a restart. That passes; wait for it.
	for wait := 30 * time.Second; !known; {
		resp, err := cli.MemberAddAsLearner(ctx, []string{peerURL})
		if err == nil {
			list.Members = resp.Members
			break
		}
		if !errors.Is(err, rpctypes.ErrUnhealthy) || wait <= 0 {
			return "", fmt.Errorf("etcd: add learner %s: %w", peerURL, err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("etcd: add learner %s: %w", peerURL, err)
		case <-time.After(500 * time.Millisecond):
			wait -= 500 * time.Millisecond
		}
	}
	var parts []string
	for _, m := range list.Members {
		n := m.Name
		if n == "" {
			n = name // the member being added has no name until it starts
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	return strings.Join(parts, ","), nil
}

// Promote makes the learner at peerURL a voting member once it has caught
// up, retrying until then or until ctx ends.
func Promote(ctx context.Context, a Access, peerURL string) error {
	cli, err := a.Client(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		list, err := cli.MemberList(ctx)
		if err == nil {
			for _, m := range list.Members {
				if !has(m.PeerURLs, peerURL) {
					continue
				}
				if !m.IsLearner {
					return nil
				}
				if _, err = cli.MemberPromote(ctx, m.ID); err == nil {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
}

// PeerURLs lists the peer URLs of the cluster's members.
func PeerURLs(ctx context.Context, a Access) ([]string, error) {
	cli, list, err := members(ctx, a)
	if err != nil {
		return nil, err
	}
	cli.Close()
	var urls []string
	for _, m := range list.Members {
		urls = append(urls, m.PeerURLs...)
	}
	return urls, nil
}

// Remove takes members whose peer URL is not in keep out of the cluster:
// hosts removed from the etcd group.
func Remove(ctx context.Context, a Access, keep []string) ([]string, error) {
	cli, list, err := members(ctx, a)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	var removed []string
	for _, m := range list.Members {
		wanted := false
		for _, u := range m.PeerURLs {
			wanted = wanted || has(keep, u)
		}
		if wanted {
			continue
		}
		if _, err := cli.MemberRemove(ctx, m.ID); err != nil {
			return removed, fmt.Errorf("etcd: remove %s: %w", m.Name, err)
		}
		removed = append(removed, m.Name)
	}
	return removed, nil
}

// members connects to the cluster and lists its members; the caller
// closes the client.
func members(ctx context.Context, a Access) (*clientv3.Client, *clientv3.MemberListResponse, error) {
	cli, err := a.Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	list, err := cli.MemberList(ctx)
	if err != nil {
		cli.Close()
		return nil, nil, fmt.Errorf("etcd: list members: %w", err)
	}
	return cli, list, nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
