package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func ptr(v float64) *float64 { return &v }

func TestTable(t *testing.T) {
	t.Parallel()
	c := cell{protocol: "grpc", size: 16}
	pdata := result{cell: c, peakRSS: 45 << 20, load: loadReport{
		SpansPerSecond: 50000.4, CPUPerMillionSpans: ptr(16), RequestBytes: 10918, RequestsRefused: 3,
	}}
	fast := result{cell: c, fast: true, peakRSS: 60<<20 + 1<<19, load: loadReport{
		SpansPerSecond: 125000, CPUPerMillionSpans: ptr(10), RequestBytes: 10918, RequestsFailed: 2,
		LastError: "rpc error: code = Internal",
	}}
	var out bytes.Buffer
	tab, err := newTable(&out)
	require.NoError(t, err)
	require.NoError(t, tab.addPair(pdata, fast))
	require.NoError(t, tab.close())
	want := `| protocol | spans/request | path  | spans/s | daemon CPU-s/M spans | request bytes | refused | failed | peak RSS MB | fast/pdata spans/s | fast/pdata spans/CPU-s |
| -------- | ------------- | ----- | ------: | -------------------: | ------------: | ------: | -----: | ----------: | -----------------: | ---------------------: |
| grpc     | 16            | pdata |   50000 |                16.00 |         10918 |       3 |      0 |        45.0 |                    |                        |
| grpc     | 16            | fast  |  125000 |                10.00 |         10918 |       0 |      2 |        60.5 |              2.50x |                  1.60x |

last errors:
- grpc, 16 spans/request, fast: rpc error: code = Internal
`
	require.Equal(t, want, out.String())
}

func TestRowWithoutAcceptedSpans(t *testing.T) {
	t.Parallel()
	c := cell{protocol: "http", size: 1}
	pdata := result{cell: c, load: loadReport{SpansPerSecond: 1000, CPUPerMillionSpans: ptr(20)}}
	fast := result{cell: c, fast: true, load: loadReport{RequestsRefused: 7}}
	cells := row(fast, &pdata)
	require.Equal(t, []string{"0", "-"}, cells[3:5], "spans/s and CPU")
	require.Equal(t, []string{"-", "-"}, cells[9:], "ratios")
}
