package provision

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

const scramPrefix = "SCRAM-SHA-256$"

// isVerifier reports whether a password is already hashed, by the rules
// PostgreSQL uses to store such a value as it is.
func isVerifier(s string) bool {
	if strings.HasPrefix(s, scramPrefix) {
		_, _, _, _, ok := parseSCRAM(s)
		return ok
	}
	if len(s) == 35 && strings.HasPrefix(s, "md5") {
		_, err := hex.DecodeString(s[3:])
		return err == nil
	}
	return false
}

// matches reports whether a stored verifier already holds this password
// in the form the server would store it now.
func (p *Password) matches(stored string) bool {
	if isVerifier(p.Password) {
		return stored == p.Password
	}
	if p.Method == "md5" {
		return stored == md5Verifier(p.Role, p.Password)
	}
	return scramMatches(stored, p.Password)
}

func md5Verifier(role, password string) string {
	sum := md5.Sum([]byte(password + role))
	return "md5" + hex.EncodeToString(sum[:])
}

// scramMatches checks a password against a SCRAM-SHA-256 verifier
// (RFC 5803 form). PostgreSQL SASLprep-normalizes passwords first; that
// is the identity on ASCII, so a non-ASCII password never matches here and
// is merely set again.
func scramMatches(verifier, password string) bool {
	iter, salt, storedKey, serverKey, ok := parseSCRAM(verifier)
	if !ok {
		return false
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return false
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return hmac.Equal(stored[:], storedKey) && hmac.Equal(mac(salted, "Server Key"), serverKey)
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// parseSCRAM splits SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func parseSCRAM(v string) (iter int, salt, storedKey, serverKey []byte, ok bool) {
	rest, found := strings.CutPrefix(v, scramPrefix)
	if !found {
		return
	}
	params, keys, found := strings.Cut(rest, "$")
	if !found {
		return
	}
	iterText, saltText, found1 := strings.Cut(params, ":")
	storedText, serverText, found2 := strings.Cut(keys, ":")
	if !found1 || !found2 {
		return
	}
	iter, err := strconv.Atoi(iterText)
	if err != nil || iter <= 0 {
		return
	}
	enc := base64.StdEncoding
	salt, err1 := enc.DecodeString(saltText)
	storedKey, err2 := enc.DecodeString(storedText)
	serverKey, err3 := enc.DecodeString(serverText)
	if err1 != nil || err2 != nil || err3 != nil || len(storedKey) != sha256.Size || len(serverKey) != sha256.Size {
		return
	}
	return iter, salt, storedKey, serverKey, true
}
