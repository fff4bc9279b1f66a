package requestid

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/tempestsdk/tempest/internal/ascii"
)

// maxLen is the longest inbound ID that Valid accepts (R26).
const maxLen = 128

// idChar reports which bytes an inbound ID may contain (R26):
// A-Z a-z 0-9 . _ - : + / =
var idChar = ascii.New("._-:+/=")

// Valid reports whether id may be trusted from an inbound request: 1 to 128
// characters, each one of A-Z a-z 0-9 . _ - : + / =. The set
// admits UUIDs, ULIDs, base64 and the usual "svc:trace/span" forms, while
// keeping out what could forge log lines or headers: spaces, commas, quotes,
// control characters (CR and LF among them) and non-ASCII text.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > maxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idChar[id[i]] {
			return false
		}
	}
	return true
}

// Generate returns a new random UUID version 4 in its lower-case canonical
// 36-character form, such as "f47ac10b-58cc-4372-a567-0e02b2c3d479". Its 122
// random bits come from [crypto/rand], so IDs are unique in practice and
// cannot be guessed from one another.
func Generate() string {
	var b [16]byte
	// Since Go 1.24, crypto/rand.Read never returns an error: it fills b or
	// crashes the program.
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10 (RFC 9562)

	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
