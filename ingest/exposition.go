package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/outagewatch/outagewatch/internal/gzipresponse"
)

// /metrics in the text formats at full size is mostly text encoding: 119k lines at the default
// caps, most of them the per-series families' metrics, which did not move since the last
// scrape (their outputs are kept: seriesmetrics.go). So each kept output also keeps its lines
// in each text format, encoded by expfmt on the first scrape that asks for that format, and
// written again as they are while the output is kept. The bytes are the ones expfmt writes
// (TestGathererServesTheRegistrysExposition compares the whole exposition in every format).

// The text formats whose lines a kept output keeps.
const (
	textPlain       = iota // text/plain; version=0.0.4
	textOpenMetric1        // application/openmetrics-text; version=0.0.1 or 1.0.0
	textOpenMetric2        // application/openmetrics-text; version=2.0.0
	textFormats
)

// keptText is a kept output's lines in each text format, made on the first scrape that asks.
// The lines do not depend on the format's name escaping: the per-series families' metric and
// label names are valid legacy names, which no escaping scheme changes.
type keptText [textFormats]atomic.Pointer[[]byte]

// keptFamily is a family of kept outputs with each metric's kept text.
type keptFamily struct {
	*dto.MetricFamily
	text []*keptText // by metric
}

func newKeptFamily(name, help string, t dto.MetricType, n int) keptFamily {
	return keptFamily{
		MetricFamily: &dto.MetricFamily{Name: &name, Help: &help, Type: t.Enum(), Metric: make([]*dto.Metric, n)},
		text:         make([]*keptText, n),
	}
}

// textFormat returns the kept-text slot of format, false for the protobuf formats.
func textFormat(format expfmt.Format) (int, bool) {
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		return textPlain, true
	case expfmt.TypeOpenMetrics:
		if _, params, err := mime.ParseMediaType(string(format)); err == nil && params["version"] == expfmt.OpenMetricsVersion_2_0_0 {
			return textOpenMetric2, true
		}
		return textOpenMetric1, true
	}
	return 0, false
}

// MetricsHandler returns the /metrics handler: the Pipeline's Gatherer over reg and extra (see
// Gatherer), in the format the scraper negotiates (OpenMetrics included), the per-series
// families' unchanged metrics written from their kept text, gzipped at the fastest level when
// the scraper accepts gzip (internal/gzipresponse: at full size, gzip at the default level took
// longer than building the body). It answers as promhttp's handler does (HandlerOpts with
// EnableOpenMetrics and HTTPErrorOnError): the same headers, the name[] filter, a 500 on a
// gathering error, and promhttp_metric_handler_errors_total in reg.
func (p *Pipeline) MetricsHandler(reg *prometheus.Registry, extra ...func() []*dto.MetricFamily) http.Handler {
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promhttp_metric_handler_errors_total",
		Help: "Total number of internal errors encountered by the promhttp metric handler.",
	}, []string{"cause"})
	errs.WithLabelValues("gathering")
	errs.WithLabelValues("encoding")
	if err := reg.Register(errs); err != nil {
		if are := (prometheus.AlreadyRegisteredError{}); errors.As(err, &are) {
			errs = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	g := p.Gatherer(reg, extra...).(*gatherer)
	return gzipresponse.New(&metricsHandler{g: g, errs: errs})
}

// metricsHandler serves the gatherer's families.
type metricsHandler struct {
	g    *gatherer
	errs *prometheus.CounterVec
}

func (h *metricsHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	mfs, texts, err := h.g.gather()
	if err != nil {
		h.errs.WithLabelValues("gathering").Inc()
		http.Error(w, "An error has occurred while serving metrics:\n\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	format := expfmt.NegotiateAccept(req.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	w.Header().Add("Vary", "Accept")
	w.Header().Set("Content-Type", string(format))
	var names map[string]bool
	if req.URL != nil {
		if q := req.URL.Query()["name[]"]; len(q) > 0 {
			names = make(map[string]bool, len(q))
			for _, n := range q {
				names[n] = true
			}
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := expfmt.NewEncoder(bw, format)
	slot, text := textFormat(format)
	for _, mf := range mfs {
		if names != nil && !names[mf.GetName()] {
			continue
		}
		if kept := texts[mf]; text && kept != nil {
			err = writeKept(bw, format, slot, mf, kept)
		} else {
			err = enc.Encode(mf)
		}
		if err != nil {
			h.errs.WithLabelValues("encoding").Inc()
			return
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		err = c.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		h.errs.WithLabelValues("encoding").Inc()
	}
}

// writeKept writes mf in format: its header (help and type), then each metric's kept text in
// slot, encoded first where it is not kept yet.
func writeKept(w *bufio.Writer, format expfmt.Format, slot int, mf *dto.MetricFamily, kept []*keptText) error {
	if len(mf.Metric) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := expfmt.NewEncoder(&buf, format).Encode(&dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Metric: mf.Metric[:1]}); err != nil {
		return err
	}
	header, _ := splitHeader(buf.Bytes())
	if _, err := w.Write(header); err != nil {
		return err
	}
	// One encoder for the metrics not kept yet, each encoded alone (without the help, whose
	// line is left out) into buf.
	enc := expfmt.NewEncoder(&buf, format)
	one := &dto.MetricFamily{Name: mf.Name, Type: mf.Type, Metric: make([]*dto.Metric, 1)}
	for i, m := range mf.Metric {
		lines := kept[i][slot].Load()
		if lines == nil {
			buf.Reset()
			one.Metric[0] = m
			if err := enc.Encode(one); err != nil {
				return err
			}
			_, body := splitHeader(buf.Bytes())
			if len(body) == 0 {
				return fmt.Errorf("encoding %s: no sample line", mf.GetName())
			}
			b := bytes.Clone(body)
			kept[i][slot].Store(&b)
			lines = &b
		}
		if _, err := w.Write(*lines); err != nil {
			return err
		}
	}
	return nil
}

// splitHeader splits an encoded family at the end of its leading comment lines (# HELP,
// # TYPE, # UNIT): no sample line starts with #.
func splitHeader(b []byte) (header, body []byte) {
	n := 0
	for n < len(b) && b[n] == '#' {
		i := bytes.IndexByte(b[n:], '\n')
		if i < 0 {
			return b, nil
		}
		n += i + 1
	}
	return b[:n], b[n:]
}
