package receiver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// Request buffers are charged to the request's ticket before they are allocated, sized by what
// is known (Content-Length, the compressed message's length, gzip's declared size), and grown
// only when that was wrong or unknown, each growth charged first.
const (
	// unknownSizeHint is the first buffer of a body of unknown length.
	unknownSizeHint = 64 << 10
	// maxPooledBuffer is the largest buffer kept for reuse: an unusually large one is let go
	// rather than pinned.
	maxPooledBuffer = 4 << 20
)

// errTooLarge is a body past the request limit (HTTP 413, gRPC ResourceExhausted without
// RetryInfo: the exporter must not send it again).
var errTooLarge = errors.New("request body too large")

// bufferPool pools request buffers (*[]byte) of at most maxPooledBuffer bytes.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

func (p *bufferPool) put(b *[]byte) {
	if b == nil || cap(*b) > maxPooledBuffer {
		return
	}
	*b = (*b)[:0]
	p.pool.Put(b)
}

// chargedBuffer is a pooled buffer whose capacity is charged to a ticket.
type chargedBuffer struct {
	pool    *bufferPool
	b       *[]byte
	charged int64
}

// newChargedBuffer returns a buffer with room for hint bytes, charging t first: the capacity of
// the pooled buffer it reuses, or hint when it must allocate.
func newChargedBuffer(ctx context.Context, t *ticket, pool *bufferPool, hint int64) (*chargedBuffer, error) {
	b := pool.get()
	n := max(int64(cap(*b)), hint)
	if err := t.charge(ctx, n); err != nil {
		pool.put(b)
		return nil, err
	}
	if int64(cap(*b)) < hint {
		*b = make([]byte, 0, hint)
	}
	return &chargedBuffer{pool: pool, b: b, charged: n}, nil
}

// bytes returns the content; valid until free.
func (c *chargedBuffer) bytes() []byte { return *c.b }

// free returns the buffer to its pool and its charge to t.
func (c *chargedBuffer) free(t *ticket) {
	if c == nil || c.b == nil {
		return
	}
	c.pool.put(c.b)
	c.b = nil
	t.refund(c.charged)
}

// readFrom reads r to its end into c, at most limit bytes: errTooLarge past them. When the
// buffer is full it grows (to twice its size, at most limit+1), the new buffer charged before
// it is allocated and the old one's charge returned once copied.
func (c *chargedBuffer) readFrom(ctx context.Context, t *ticket, r io.Reader, limit int64) error {
	buf := *c.b
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				*c.b = buf
				return errTooLarge
			}
			newCap := min(max(2*int64(cap(buf)), unknownSizeHint), limit+1)
			if err := t.charge(ctx, newCap); err != nil {
				*c.b = buf
				return err
			}
			grown := make([]byte, len(buf), newCap)
			copy(grown, buf)
			t.refund(c.charged)
			buf, c.charged = grown, newCap
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			*c.b = buf
			return err
		}
	}
	*c.b = buf
	if int64(len(buf)) > limit {
		return errTooLarge
	}
	return nil
}

// gzipSizeHint returns the decompressed size a gzip stream declares in its trailer (ISIZE, the
// last member's size modulo 2^32), or -1 when it is too short to have one. It is a hint: a
// stream may lie, and inflation is bounded and charged as it goes whatever it says; but an honest
// stream is inflated into one buffer of its size, and a stream declaring more than the limit
// is refused without inflating it (every member's size is at most the total).
func gzipSizeHint(compressed []byte) int64 {
	const minGzip = 18 // header 10, trailer 8
	if len(compressed) < minGzip {
		return -1
	}
	return int64(binary.LittleEndian.Uint32(compressed[len(compressed)-4:]))
}

// inflate decompresses the gzip stream compressed into a buffer charged to t, at most limit
// bytes (errTooLarge beyond them, or when the stream says so).
func inflate(ctx context.Context, t *ticket, readers *gzipReaders, pool *bufferPool, compressed []byte, limit int64) (*chargedBuffer, error) {
	zr, err := readers.get(bytes.NewReader(compressed)) // checks the header
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer readers.put(zr)
	hint := gzipSizeHint(compressed)
	if hint > limit {
		return nil, fmt.Errorf("%w: gzip declares %d bytes decompressed, which exceeds the limit of %d", errTooLarge, hint, limit)
	}
	if hint < 0 {
		hint = unknownSizeHint
	}
	out, err := newChargedBuffer(ctx, t, pool, min(hint+1, limit+1)) // +1: EOF without growing
	if err != nil {
		return nil, err
	}
	if err := out.readFrom(ctx, t, zr, limit); err != nil {
		out.free(t)
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%w: decompressed body exceeds the limit of %d bytes", errTooLarge, limit)
		}
		if overloaded(err) {
			return nil, err
		}
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out, nil
}

// maxJSONDepth bounds the nesting of OTLP/JSON bodies, in brackets. A span attribute sits about
// 8 deep and each level of an attribute value (kvlistValue, arrayValue) adds 4, so 512 leaves
// some 100 levels of values, what the protobuf path takes; pdata's JSON reader has no bound of
// its own (a body of 300,000 levels was accepted, issue 20).
const maxJSONDepth = 512

// jsonTooDeep reports whether b nests objects and arrays deeper than limit. It tracks strings
// (and their escapes) and nothing else: well-formedness is the decoder's business.
func jsonTooDeep(b []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if depth++; depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// maxStatusMessage bounds the message of an error status.
const maxStatusMessage = 256

// statusMessage makes an error message fit for a Status sent back: valid UTF-8, bounded, and
// without the request bytes a decoder quotes as context (pdata's JSON reader, jsoniter, appends
// "error found in #N byte of ...|<body>|..."): exporters log these, and a body is not theirs
// to read back from us.
func statusMessage(msg string) string {
	if i := strings.Index(msg, ", error found in #"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > maxStatusMessage {
		cut := maxStatusMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	return msg
}
