package pgbouncer

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// verifier computes the SCRAM-SHA-256 verifier PostgreSQL stores in
// pg_authid for password, with a salt derived from the user so that
// golden files stay stable.
func verifier(user, password string) string {
	const iterations = 4096
	salt := sha256.Sum256([]byte("salt:" + user))
	salted, err := pbkdf2.Key(sha256.New, password, salt[:16], iterations, sha256.Size)
	if err != nil {
		panic(err) // only for impossible parameters, in a test
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt[:16]), b64(stored[:]), b64(mac(salted, "Server Key")))
}
