package plan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Plan signing. The digest proves a plan file is intact, not who wrote it:
// anyone who can write the file can re-seal it. When plan files travel
// through storage that other jobs can write (a CI artifact store), the
// operator sets a key shared by the plan and apply jobs; plan --out signs
// the digest with it and apply PLANFILE refuses a plan without a valid
// signature.

// MinKeyLen is the shortest plan key accepted: a signature is public, so a
// short key could be found by trying keys offline.
const MinKeyLen = 16

const sigScheme = "hmac-sha256:"

// ErrUnsigned is a plan without a signature checked with a key.
var ErrUnsigned = errors.New("the plan is not signed")

// ErrBadSignature is a signature that the key did not make.
var ErrBadSignature = errors.New("the plan's signature does not match the plan key: it was not made with this key, or the plan was re-sealed after it was signed")

// CheckKey rejects a key too short to sign with.
func CheckKey(key string) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("the plan key is %d bytes long; use at least %d (for example 32 random bytes, hex encoded)", len(key), MinKeyLen)
	}
	return nil
}

func mac(digest, key string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("lumuctl-plan-v1\x00" + digest))
	return m.Sum(nil)
}

// Sign sets p.Signature from p.Digest (the plan must be sealed) and key.
func Sign(p *Plan, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if p.Digest == "" {
		return errors.New("sign plan: plan is not sealed")
	}
	p.Signature = sigScheme + hex.EncodeToString(mac(p.Digest, key))
	return nil
}

// VerifySignature checks p.Signature against p.Digest and key. Decode has
// already checked that the digest matches the content.
func VerifySignature(p *Plan, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if p.Signature == "" {
		return ErrUnsigned
	}
	hexSig, ok := strings.CutPrefix(p.Signature, sigScheme)
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || !hmac.Equal(got, mac(p.Digest, key)) {
		return ErrBadSignature
	}
	return nil
}
