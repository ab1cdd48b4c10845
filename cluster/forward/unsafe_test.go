package forward

import "unsafe"

// unsafeData is the address of s's bytes, to tell shared strings from copies.
func unsafeData(s string) *byte { return unsafe.StringData(s) }
