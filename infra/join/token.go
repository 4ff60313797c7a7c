// Package join lets a new host join the fleet by token, as k3s does: the
// token carries the fingerprint of the CA, so the host can trust the infra
// host it talks to, and a secret, so the infra host can trust it. The host
// sends a certificate request for a key it keeps; the infra host signs it
// and answers with what the host's agent needs.
package join

import (
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"pigsty/infra/pki"
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

// LoadOrCreateSecret is the infra host's join secret, created once in dir.
func LoadOrCreateSecret(dir string) (string, error) { return pki.Secret(dir, "join.secret") }

func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
