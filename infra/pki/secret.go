package pki

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Secret returns the secret kept in dir/name, created once (random, hex,
// 0600): the join secret, the agents' etcd password.
func Secret(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	secret := hex.EncodeToString(buf)
	if err := privateDir(dir); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	return secret, nil
}

// privateDir creates dir as root's own (0700). Parents it creates are
// ordinary directories: on a fresh root they are var/ and var/lib/, which
// the database superuser must be able to cross.
func privateDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return nil
}
