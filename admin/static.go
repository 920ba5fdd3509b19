package admin

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/tls"
	"embed"
	"encoding/json"
	"html"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/wire/httproute"
)

// The UI: ui/index.html (a shell), and the files under ui/static/ served
// at <base path>/static/<name>. index.html has two placeholders: {{BASE}}
// (the base path, "" for "/") and {{CONFIG}} (pageConfig as JSON).
//
//go:embed ui/index.html ui/static
var uiFiles embed.FS

// pageConfig is what the UI needs to know about this nsqadmin; it is
// written into every page (upstream sets the same things as globals).
type pageConfig struct {
	Version  string `json:"version"`
	BasePath string `json:"base_path"` // "" for "/"
	// GraphiteURL is where the browser asks Graphite's /render: Graphite
	// itself, or (with --proxy-graphite) this nsqadmin.
	GraphiteURL         string   `json:"graphite_url"`
	GraphEnabled        bool     `json:"graph_enabled"`
	ProxyGraphite       bool     `json:"proxy_graphite"`
	StatsdInterval      int64    `json:"statsd_interval"` // seconds
	StatsdCounterFormat string   `json:"statsd_counter_format"`
	StatsdGaugeFormat   string   `json:"statsd_gauge_format"`
	StatsdPrefix        string   `json:"statsd_prefix"`
	NSQLookupd          []string `json:"nsqlookupd"`
	IsAdmin             bool     `json:"is_admin"`
	// ChartInterval is how often our charts are sampled, in
	// milliseconds; 0 when they are off.
	ChartInterval int64 `json:"chart_interval"`
}

// index serves the UI's shell for every page; the UI then routes on the
// URL itself.
func (a *NSQAdmin) index(w http.ResponseWriter, r *http.Request) {
	o := a.getOpts()
	base := o.BasePath
	if base == "/" {
		base = ""
	}
	cfg := pageConfig{
		Version:             Version,
		BasePath:            base,
		GraphiteURL:         o.GraphiteURL,
		GraphEnabled:        o.GraphiteURL != "",
		ProxyGraphite:       o.ProxyGraphite,
		StatsdInterval:      int64(o.StatsdInterval / time.Second),
		StatsdCounterFormat: o.StatsdCounterFormat,
		StatsdGaugeFormat:   o.StatsdGaugeFormat,
		StatsdPrefix:        o.StatsdPrefix,
		NSQLookupd:          o.NSQLookupdHTTPAddresses,
		IsAdmin:             a.isAdmin(r),
	}
	if o.ProxyGraphite {
		cfg.GraphiteURL = base
	}
	if cfg.NSQLookupd == nil {
		cfg.NSQLookupd = []string{}
	}
	if a.store != nil {
		cfg.ChartInterval = o.SampleInterval.Milliseconds()
	}
	// json.Marshal escapes <, > and &, so the document cannot end the
	// <script> element it is written into.
	js, _ := json.Marshal(cfg)
	shell, err := uiFiles.ReadFile("ui/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page := bytes.ReplaceAll(shell, []byte("{{BASE}}"), []byte(html.EscapeString(base)))
	page = bytes.Replace(page, []byte("{{CONFIG}}"), js, 1)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// staticAsset serves a file of the UI, from --dev-static-dir when set.
func (a *NSQAdmin) staticAsset(w http.ResponseWriter, _ *http.Request, ps httproute.Params) (any, error) {
	name := ps.ByName("asset")
	var (
		b   []byte
		err error
	)
	if dir := a.getOpts().DevStaticDir; dir != "" {
		a.logf(LogDebug, "using dev dir %q for static asset %q", dir, name)
		b, err = os.ReadFile(filepath.Join(dir, filepath.Base(name)))
	} else {
		b, err = uiFiles.ReadFile(path.Join("ui/static", name))
	}
	if err != nil {
		return nil, errNotFound
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	return b, nil
}

// newGraphiteProxy forwards <base path>/render to Graphite's /render
// (under the Graphite URL's own path), with the user and password of the
// Graphite URL as basic authentication, as upstream.
func newGraphiteProxy(target *url.URL, tlsConfig *tls.Config, connect, request time.Duration) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = target.Scheme
			pr.Out.URL.Host = target.Host
			pr.Out.URL.Path = strings.TrimSuffix(target.Path, "/") + "/render"
			pr.Out.URL.RawPath = ""
			pr.Out.Host = ""
			if target.User != nil {
				pass, _ := target.User.Password()
				pr.Out.SetBasicAuth(target.User.Username(), pass)
			}
		},
		Transport: cluster.NewTransport(tlsConfig, connect, request),
	}
}

// compress answers with gzip or deflate when the request accepts them
// (the first of the two its Accept-Encoding lists), as upstream does.
func compress(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for enc := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
			var zw io.WriteCloser
			switch strings.TrimSpace(enc) {
			case "gzip":
				zw = gzip.NewWriter(w)
			case "deflate":
				zw, _ = flate.NewWriter(w, flate.DefaultCompression)
			default:
				continue
			}
			w.Header().Set("Content-Encoding", strings.TrimSpace(enc))
			w.Header().Add("Vary", "Accept-Encoding")
			cw := &compressWriter{ResponseWriter: w, zw: zw}
			defer cw.close()
			h.ServeHTTP(cw, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type compressWriter struct {
	http.ResponseWriter
	zw          io.WriteCloser
	wroteHeader bool
}

func (c *compressWriter) WriteHeader(code int) {
	if c.wroteHeader {
		return
	}
	c.wroteHeader = true
	c.Header().Del("Content-Length")
	c.ResponseWriter.WriteHeader(code)
}

func (c *compressWriter) Write(b []byte) (int, error) {
	h := c.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(b))
	}
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	return c.zw.Write(b)
}

// Flush lets the Graphite proxy stream.
func (c *compressWriter) Flush() {
	if f, ok := c.zw.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *compressWriter) close() {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	_ = c.zw.Close()
}
