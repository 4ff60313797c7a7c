package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// AddLearner adds a member to the running cluster at endpoints as a
// learner (it gets the data before it votes, so a slow new member never
// costs the cluster its quorum) and returns the initial-cluster string the
// new member starts with. A member already in the cluster is not added
// again.
func AddLearner(ctx context.Context, endpoints []string, name, peerURL string) (string, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return "", fmt.Errorf("etcd: connect %v: %w", endpoints, err)
	}
	defer cli.Close()
	list, err := cli.MemberList(ctx)
	if err != nil {
		return "", fmt.Errorf("etcd: list members: %w", err)
	}
	known := false
	for _, m := range list.Members {
		for _, u := range m.PeerURLs {
			known = known || u == peerURL
		}
	}
	if !known {
		resp, err := cli.MemberAddAsLearner(ctx, []string{peerURL})
		if err != nil {
			return "", fmt.Errorf("etcd: add learner %s: %w", peerURL, err)
		}
		list.Members = resp.Members
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
func Promote(ctx context.Context, endpoints []string, peerURL string) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("etcd: connect %v: %w", endpoints, err)
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

// Remove takes members whose peer URL is not in keep out of the cluster:
// hosts removed from the etcd group.
func Remove(ctx context.Context, endpoints []string, keep []string) ([]string, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("etcd: connect %v: %w", endpoints, err)
	}
	defer cli.Close()
	list, err := cli.MemberList(ctx)
	if err != nil {
		return nil, fmt.Errorf("etcd: list members: %w", err)
	}
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

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
