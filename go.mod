module github.com/nsqfast/nsq

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/chromedp/chromedp v0.23.0
	github.com/felixge/fgprof v0.9.5
	github.com/klauspost/compress v1.20.3
	github.com/nsqio/go-nsq v1.1.0
	github.com/panjf2000/gnet/v2 v2.9.8
	github.com/prometheus/client_model v0.6.1
	github.com/prometheus/common v0.55.0
	github.com/valyala/bytebufferpool v1.0.0
	golang.org/x/sys v0.30.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang/snappy v0.0.1 // indirect
	github.com/google/pprof v0.0.0-20240227163752-401108e1b7e7 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	google.golang.org/protobuf v1.34.2 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
