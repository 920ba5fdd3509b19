// graphite.js: Graphite charts (with --graphite-url), as upstream draws
// them: the metric names nsqd's statsd pushes (named with
// --statsd-prefix, --statsd-counter-format and --statsd-gauge-format),
// sparklines and large graphs from Graphite's /render, and rates from
// nsqadmin's /api/graphite.
'use strict';

(function (N) {
  var cfg = N.config;
  var G = N.graphite = {};

  G.intervals = ['1h', '2h', '12h', '24h', '48h', '168h', 'off'];

  // interval is the chosen time frame: ?t=, else the saved one, else 2h.
  G.interval = function () {
    if (!cfg.graph_enabled) { return 'off'; }
    var t = new URLSearchParams(window.location.search).get('t');
    return t || N.setting('graph_interval', '2h');
  };
  G.active = function () { return cfg.graph_enabled && G.interval() !== 'off'; };

  var METRIC_TYPES = {
    depth: 'gauge', in_flight_count: 'gauge', deferred_count: 'gauge',
    requeue_count: 'counter', timeout_count: 'counter', message_count: 'counter',
    clients: 'gauge', '*_bytes': 'gauge', 'gc_pause_*': 'gauge', gc_runs: 'counter',
    heap_objects: 'gauge', e2e_processing_latency: 'gauge'
  };

  function format(type, key) {
    if (type === 'counter') { return cfg.statsd_counter_format.replace(/%s/g, key); }
    if (type === 'gauge') { return cfg.statsd_gauge_format.replace(/%s/g, key); }
    return key;
  }

  // prefix is nsqd's statsd prefix for a node ("host:port", or "*" for
  // all), ending in a dot as nsqd makes it.
  function prefix(node) {
    var p = cfg.statsd_prefix.replace(/%s/g, node.replace(/[.:]/g, '_'));
    return p.charAt(p.length - 1) === '.' ? p : p + '.';
  }

  // sanitize makes a topic or channel name a Graphite key as statsd
  // daemons do: spaces become _, slashes -, anything else odd goes.
  function sanitize(s) {
    return String(s).replace(/ /g, '_').replace(/\//g, '-').replace(/[^a-zA-Z0-9\-_.]/g, '');
  }

  // targets are the Graphite targets of a metric. kind is topic, channel,
  // node, e2e or counter; for e2e, topic is the latency summary.
  G.targets = function (kind, node, topic, channel, key) {
    var pre = prefix(node || '*');
    var type = METRIC_TYPES[key];
    switch (kind) {
    case 'topic':
      return ['sumSeries(' + format(type, pre + 'topic.' + sanitize(topic) + '.' + key) + ')'];
    case 'channel':
      return ['sumSeries(' + format(type, pre + 'topic.' + sanitize(topic) + '.channel.' +
        sanitize(channel) + '.' + key) + ')'];
    case 'node':
      var t = pre + 'mem.' + key;
      if (key === 'gc_runs') { t = 'movingAverage(' + t + ',45)'; }
      return [format(type, t)];
    case 'e2e':
      var e2e = topic;
      return (e2e.percentiles || []).map(function (p) {
        var m = pre + 'topic.' + e2e.topic + (e2e.channel ? '.channel.' + e2e.channel : '') +
          '.' + key + '_' + (p.quantile * 100);
        if (node === '*') { m = 'averageSeries(' + m + ')'; }
        return 'scale(' + format(type, m) + ',0.000001)';
      });
    case 'counter':
      return ['sumSeries(' + format(type, pre + 'topic.*.channel.*.' + key) + ')'];
    }
    return [];
  };

  function colors(kind, key) {
    if ((kind === 'topic' || kind === 'channel') && (key === 'depth' || key === 'deferred_count')) { return 'red'; }
    if (kind === 'node') { return 'red,green,blue,purple'; }
    if (kind === 'counter') { return 'green'; }
    return 'blue';
  }

  function render(params, targets) {
    var q = new URLSearchParams(params);
    targets.forEach(function (t) { q.append('target', t); });
    return cfg.graphite_url + '/render?' + q.toString();
  }

  G.sparkline = function (kind, node, topic, channel, key) {
    var every = cfg.statsd_interval + 'sec';
    return render({
      colorList: colors(kind, key), height: '20', width: '120', hideGrid: 'true',
      hideLegend: 'true', hideAxes: 'true', bgcolor: 'ff000000', fgcolor: 'black',
      margin: '0', yMin: '0', lineMode: 'connected', drawNullAsZero: 'false',
      from: '-' + G.interval(), until: '-1min'
    }, G.targets(kind, node, topic, channel, key).map(function (t) {
      return 'summarize(' + t + ',"' + every + '","avg")';
    }));
  };

  G.large = function (kind, node, topic, channel, key) {
    var every = cfg.statsd_interval + 'sec';
    return render({
      colorList: colors(kind, key), height: '450', width: '800', bgcolor: 'ff000000',
      fgcolor: '999999', yMin: '0', lineMode: 'connected', drawNullAsZero: 'false',
      from: '-' + G.interval(), until: '-1min'
    }, G.targets(kind, node, topic, channel, key).map(function (t) {
      if (METRIC_TYPES[key] === 'counter') { t = 'scale(' + t + ',' + (1 / cfg.statsd_interval) + ')'; }
      return 'summarize(' + t + ',"' + every + '","avg")';
    }));
  };

  // spark is a linked Graphite sparkline image (html``).
  G.spark = function (kind, node, topic, channel, key) {
    return N.html`<a class="graphite" href="${G.large(kind, node, topic, channel, key)}"><img width="120" height="20" alt="" src="${G.sparkline(kind, node, topic, channel, key)}"></a>`;
  };

  // rateCell is a table cell that fillRates fills with the message rate.
  G.rateCell = function (kind, node, topic, channel) {
    return N.html`<td class="num graphite-rate" data-target="${G.targets(kind, node, topic, channel, 'message_count')[0]}"></td>`;
  };

  // fillRates asks nsqadmin for the rate of every graphite-rate cell.
  G.fillRates = function (root) {
    root.querySelectorAll('.graphite-rate').forEach(function (td) {
      var q = new URLSearchParams({ metric: 'rate', target: td.getAttribute('data-target') });
      N.get(N.api('/graphite?' + q.toString())).then(function (doc) {
        td.textContent = doc.rate;
      }, function () {
        td.textContent = 'ERROR';
      });
    });
  };
})(NSQ);
