// Package join lets a new host join the fleet by token, as k3s does: the
// token carries the fingerprint of the CA, so the host can trust the infra
// host it talks to, and a secret, so the infra host can trust it. The host
// sends a certificate request for a key it keeps; the infra host signs it
// and answers with what the host's agent needs.
package join

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Token is what `pigsty join` is given.
type Token struct {
	Fingerprint string // SHA-256 of the CA certificate, hex
	Secret      string // hex
}

const tokenPrefix = "pigsty1"

func (t Token) String() string { return tokenPrefix + "." + t.Fingerprint + "." + t.Secret }

// ParseToken reads a token as `pigsty token` prints it.
func ParseToken(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != tokenPrefix || len(parts[1]) != 64 || parts[2] == "" {
		return Token{}, errors.New("join token: want pigsty1.<ca sha256>.<secret>, as `pigsty token` prints it on the infra host")
	}
	for _, p := range parts[1:] {
		if _, err := hex.DecodeString(p); err != nil {
			return Token{}, fmt.Errorf("join token: %q is not hex", p)
		}
	}
	return Token{Fingerprint: parts[1], Secret: parts[2]}, nil
}

// LoadOrCreateSecret is the infra host's join secret, created once in dir
// (0600).
func LoadOrCreateSecret(dir string) (string, error) {
	path := filepath.Join(dir, "join.secret")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("join secret: %w", err)
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("join secret: %w", err)
	}
	secret := hex.EncodeToString(buf)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("join secret: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("join secret: %w", err)
	}
	return secret, nil
}

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
