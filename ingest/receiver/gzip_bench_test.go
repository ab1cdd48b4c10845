package receiver

import (
	"bytes"
	stdgzip "compress/gzip"
	"io"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

// BenchmarkGunzip compares the standard library's gzip reader with klauspost/compress's on a
// gzipped request of 512 GenAI spans, each with a fresh reader per request and with a reused
// (Reset) one, per span.
func BenchmarkGunzip(b *testing.B) {
	raw := spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	var zb bytes.Buffer
	zw := stdgzip.NewWriter(&zb)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	body := zb.Bytes()

	type reader interface {
		io.Reader
		Reset(io.Reader) error
	}
	cases := []struct {
		name  string
		fresh func(io.Reader) (io.Reader, error)
		reuse reader
	}{
		{"stdlib", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }, new(stdgzip.Reader)},
		{"klauspost", func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }, new(kgzip.Reader)},
	}
	var out bytes.Buffer
	out.Grow(2 * len(raw))
	for _, c := range cases {
		b.Run(c.name+"/fresh", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				zr, err := c.fresh(bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if _, err := out.ReadFrom(zr); err != nil || out.Len() != len(raw) {
					b.Fatal(err, out.Len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
		})
		b.Run(c.name+"/reset", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			src := bytes.NewReader(body)
			for b.Loop() {
				src.Reset(body)
				if err := c.reuse.Reset(src); err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if _, err := out.ReadFrom(c.reuse); err != nil || out.Len() != len(raw) {
					b.Fatal(err, out.Len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
		})
	}
}
