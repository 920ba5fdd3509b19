// pages.js: the pages of the UI. Each page loads its documents from the
// API, renders them as HTML (NSQ.html escapes every value), then mounts:
// binds its buttons and starts its live charts. NSQ.app (app.js) routes
// to them and refreshes them.
'use strict';

(function (N) {
  var html = N.html;
  var cfg = N.config;
  var G = N.graphite;
  var P = N.pages = {};

  function enc(s) { return encodeURIComponent(s); }
  function topicPath(t) { return '/topics/' + enc(t); }
  function channelPath(t, c) { return '/topics/' + enc(t) + '/' + enc(c); }

  function link(p, text, cls) {
    return html`<a href="${N.url(p)}" data-link${cls ? N.raw(' class="' + N.esc(cls) + '"') : ''}>${text}</a>`;
  }
  function crumbs(items) {
    return html`<nav class="crumbs">${items.map(function (it, i) {
      var last = i === items.length - 1;
      return html`${i > 0 ? N.raw('<span class="sep">›</span>') : ''}${last ? html`<span>${it[0]}</span>` : link(it[1], it[0])}`;
    })}</nav>`;
  }
  function notice(text) {
    return html`<div class="notice">${text}</div>`;
  }
  function paused(p) { return p ? html` <span class="label label-paused">paused</span>` : ''; }
  function num(v) { return html`<td class="num">${N.commafy(v)}</td>`; }
  function memDisk(s) { return html`<td class="num">${N.commafy(s.memory_depth)} + ${N.commafy(s.backend_depth)}</td>`; }
  function pcts(lat) { return (lat && lat.percentiles) || []; }
  function pctHeads(lat) { return pcts(lat).map(function (p) { return html`<th class="num">${N.percentile(p.quantile)}</th>`; }); }
  function pctCells(lat, count) {
    var ps = pcts(lat);
    if (!ps.length) { return N.raw(new Array((count || 0) + 1).join('<td></td>')); }
    return ps.map(function (p) {
      return html`<td class="num"><span title="${Math.floor(p.quantile * 100)}%: min = ${N.nanos(p.min)}, max = ${N.nanos(p.max)}">${N.nanos(p.average)}</span></td>`;
    });
  }
  function nodeName(s) {
    var hp = N.hostPort(s.hostname, s.node);
    var addr = String(s.node).split(':').slice(0, -1).join(':');
    if (String(s.hostname).toLowerCase() !== addr.toLowerCase()) {
      return html`${hp} (${link('/nodes/' + s.node, s.node)})`;
    }
    return link('/nodes/' + s.node, hp);
  }
  function adminButtons(kind, isPaused) {
    if (!cfg.is_admin) { return ''; }
    return html`<div class="actions" data-kind="${kind}">
      ${isPaused
    ? html`<button type="button" class="btn btn-success" data-action="unpause">Resume ${kind}</button>`
    : html`<button type="button" class="btn btn-primary" data-action="pause">Pause ${kind}</button>`}
      <button type="button" class="btn btn-warning" data-action="empty">Empty ${kind}</button>
      <button type="button" class="btn btn-danger" data-action="delete">Delete ${kind}</button>
    </div>`;
  }
  // the words of the confirmation of each action
  var VERBS = { pause: 'Pause', unpause: 'Resume', empty: 'Empty', delete: 'Delete' };
  var WHERE = {
    pause: 'on every nsqd that has it', unpause: 'on every nsqd that has it',
    empty: '(drop its queued messages on every nsqd)', delete: 'from every nsqd and nsqlookupd'
  };

  function tombstoneButton(node, topic) {
    if (!cfg.is_admin) { return ''; }
    return html`<button type="button" class="link-btn tombstone" title="tombstone this topic on this node" data-node="${node}" data-topic="${topic}">✘</button>`;
  }

  // ---- live charts: panels of N.Chart and <canvas class="spark"> cells,
  // fed by /api/charts on their own timer.
  function chartsOn() { return cfg.chart_interval > 0; }
  function chartPanel(which) {
    if (!chartsOn()) { return ''; }
    return html`<section class="charts">${which.map(function (w) {
      return html`<div class="chart-box" data-chart="${w}"></div>`;
    })}</section>`;
  }
  function sparkCell(topic, channel, metric) {
    if (!chartsOn()) { return ''; }
    return html`<td class="spark-cell"><canvas class="spark" width="110" height="22" data-topic="${topic}" data-channel="${channel || ''}" data-metric="${metric}"></canvas></td>`;
  }
  // liveRateHead and liveRateCell are the per-nsqd rate column of the topic
  // and channel tables, filled by fillNodeRates from nsqadmin's samples.
  function liveRateHead() {
    if (!chartsOn()) { return ''; }
    return html`<th class="num" title="messages per second, sampled by nsqadmin">${G.active() ? 'Live rate' : 'Rate'}</th>`;
  }
  function liveRateCell(node) {
    return chartsOn() ? html`<td class="num live-rate" data-node-rate="${node}">–</td>` : '';
  }
  function fillNodeRates(root, doc, key) {
    var s = doc.series.find(function (x) { return x.topic === key[0] && x.channel === key[1]; });
    root.querySelectorAll('[data-node-rate]').forEach(function (td) {
      var node = td.getAttribute('data-node-rate');
      var r = null;
      if (node === '*') {
        for (var i = s ? s.rate.length - 1 : -1; i >= 0; i--) {
          if (s.rate[i] !== null) { r = s.rate[i]; break; }
        }
      } else {
        var nr = (doc.node_rates || []).find(function (x) { return x.node === node && x.channel === key[1]; });
        r = nr ? nr.rate : null;
      }
      td.textContent = N.rate(r);
    });
  }
  var CHART_TITLES = { rate: ['Message rate', '/s'], depth: ['Depth', ''], in_flight: ['In-flight', ''] };

  // live polls /api/charts with query (a URLSearchParams) and draws every
  // chart panel of root for series key (topic, channel) and every spark
  // cell; onData receives each answer. It returns a stop function.
  function live(root, query, key, onData) {
    if (!chartsOn()) { return function () {}; }
    var charts = {};
    root.querySelectorAll('[data-chart]').forEach(function (el) {
      var m = el.getAttribute('data-chart');
      charts[m] = new N.Chart(el, CHART_TITLES[m][0], CHART_TITLES[m][1]);
    });
    var stopped = false;
    var timer = null;
    function find(doc, t, c) {
      for (var i = 0; i < doc.series.length; i++) {
        var s = doc.series[i];
        if (s.topic === t && s.channel === c) { return s; }
      }
      return null;
    }
    function tick() {
      N.get(N.api('/charts?' + query.toString())).then(function (doc) {
        if (stopped) { return; }
        var s = key ? find(doc, key[0], key[1]) : null;
        Object.keys(charts).forEach(function (m) {
          charts[m].set(doc.times, [{ label: CHART_TITLES[m][0], color: N.chartColors[m], values: s ? s[m] : [] }]);
        });
        root.querySelectorAll('canvas.spark').forEach(function (cv) {
          var ss = find(doc, cv.getAttribute('data-topic'), cv.getAttribute('data-channel'));
          var m = cv.getAttribute('data-metric');
          var last = N.sparkline(cv, ss ? ss[m] : [], N.chartColors[m]);
          var label = cv.parentNode.querySelector('.spark-value');
          if (label) { label.textContent = m === 'rate' ? N.rate(last) : N.commafy(last === null ? 0 : last); }
        });
        if (onData) { onData(doc); }
      }, function () { /* the next tick tries again */ }).then(function () {
        if (!stopped) { timer = setTimeout(tick, Math.max(cfg.chart_interval, 1000)); }
      });
    }
    tick();
    return function () {
      stopped = true;
      clearTimeout(timer);
    };
  }

  // ---- messages listed without consuming them (ours: nsqd's
  // /channel/peek and /topic/peek through nsqadmin's /api/peek). Admin
  // users only: bodies are the applications' data. The state survives the
  // page's auto-refresh, which lists them again.
  var PEEK_PAGE = 20;
  var peekState = {};
  function peekKey(topic, channel) { return topic + '/' + (channel || ''); }
  function messagesPanel(topic, channel) {
    if (!cfg.is_admin) { return ''; }
    var st = peekState[peekKey(topic, channel)] || {};
    return html`<h3>Messages</h3><section class="messages" id="messages">
      <p class="peek-controls"><button type="button" class="btn btn-small" data-peek="show">${st.shown ? 'Refresh' : 'Show messages'}</button>
      ${channel ? html`<label><input type="checkbox" data-peek="held"${st.held ? N.raw(' checked') : ''}> with in-flight and deferred</label>` : ''}
      <button type="button" class="btn btn-small" data-peek="prev"${st.shown && st.skip > 0 ? '' : N.raw(' hidden')}>Previous</button>
      <button type="button" class="btn btn-small" data-peek="next" hidden>Next</button>
      <small>${channel ? 'what this channel delivers next, in order' : 'what the topic holds for its slowest channel'}; nothing is consumed</small></p>
      <div class="peek-list"></div></section>`;
  }
  function isoTime(ns) { return ns ? new Date(Math.floor(ns / 1e6)).toISOString() : ''; }
  function peekBody(m) {
    var shown = m.body_encoding === 'base64' ? 'base64' : 'text';
    return html`<pre class="msg-body">${m.body}</pre>${shown === 'base64' ? html`<span class="label label-plain" title="not valid UTF-8">base64</span> ` : ''}${m.truncated
      ? html`<small class="msg-cut">cut: ${N.commafy(m.size)} bytes in all</small>` : ''}${m.original_id
      ? html` <small class="msg-cut" title="a dead letter: its ID in the channel it left, and how often that channel delivered it">dead letter of ${m.original_id} after ${m.original_attempts} attempts</small>` : ''}`;
  }
  function peekTables(doc, skip) {
    return html`${(doc.nodes || []).map(function (n) {
      var msgs = n.messages || [];
      return html`<h4>${n.node}</h4>${n.error ? notice('This nsqd does not list messages: ' + n.error)
        : !msgs.length ? notice(skip ? 'No more messages.' : 'No message waiting.')
          : html`<table class="table peek" data-node="${n.node}"><thead><tr><th class="num">#</th><th>ID</th><th>Published</th>
          <th class="num">Attempts</th><th>State</th><th class="num">Size</th><th>Body</th></tr></thead><tbody>${msgs.map(function (m, i) {
    return html`<tr data-id="${m.id}"><td class="num">${skip + i + 1}</td><td><code>${m.id}</code></td><td>${isoTime(m.timestamp)}</td>
            <td class="num">${m.attempts}</td><td>${m.state.replace('_', ' ')}${m.due_at ? html`<br><small title="${m.state === 'in_flight' ? 'times out at' : 'deliverable at'}">${isoTime(m.due_at)}</small>` : ''}</td>
            <td class="num">${N.commafy(m.size)}</td><td class="body-cell">${peekBody(m)}</td></tr>`;
  })}</tbody></table>`}`;
    })}`;
  }
  function bindPeek(root, topic, channel) {
    var sec = root.querySelector('#messages');
    if (!sec) { return; }
    var key = peekKey(topic, channel);
    var st = peekState[key] || (peekState[key] = { shown: false, skip: 0, held: false });
    var list = sec.querySelector('.peek-list');
    var btn = function (name) { return sec.querySelector('[data-peek="' + name + '"]'); };
    function load() {
      var q = new URLSearchParams({ topic: topic, n: String(PEEK_PAGE), skip: String(st.skip) });
      if (channel) { q.set('channel', channel); }
      if (st.held) { q.set('held', 'true'); }
      N.get(N.api('/peek?' + q.toString())).then(function (doc) {
        list.innerHTML = peekTables(doc, st.skip).s;
        sec.setAttribute('data-state', 'ready');
        btn('show').textContent = 'Refresh';
        btn('prev').hidden = st.skip === 0;
        btn('next').hidden = !(doc.nodes || []).some(function (n) { return n.more || (n.messages || []).length === PEEK_PAGE; });
        if (doc.message) { N.banner(doc.message, 'warning'); }
      }, function (err) { N.banner(err.message, 'error'); });
    }
    btn('show').addEventListener('click', function () { st.shown = true; load(); });
    btn('prev').addEventListener('click', function () { st.skip = Math.max(0, st.skip - PEEK_PAGE); load(); });
    btn('next').addEventListener('click', function () { st.skip += PEEK_PAGE; load(); });
    var held = btn('held');
    if (held) { held.addEventListener('change', function () { st.held = held.checked; st.skip = 0; if (st.shown) { load(); } }); }
    if (st.shown) { load(); }
  }

  // act runs an admin action after confirmation; done is called after
  // success.
  function act(question, okLabel, call, done) {
    N.confirm(question, okLabel).then(function (yes) {
      if (!yes) { return; }
      call().then(function (doc) {
        if (doc && doc.message) { N.banner(doc.message, 'warning'); }
        done();
      }, function (err) {
        N.banner(err.message, 'error');
      });
    });
  }

  // bindTombstones binds the ✘ buttons of root.
  function bindTombstones(root) {
    root.querySelectorAll('button.tombstone').forEach(function (b) {
      b.addEventListener('click', function () {
        var node = b.getAttribute('data-node');
        var topic = b.getAttribute('data-topic');
        act(html`Tombstone topic <em>${topic}</em> on <em>${node}</em>? nsqlookupd stops sending consumers of the topic to that nsqd, and the topic is deleted from it.`,
          'Tombstone',
          function () { return N.request('DELETE', N.api('/nodes/' + enc(node)), { topic: topic }); },
          function () { N.app.reload(); });
      });
    });
  }

  // ---- Topics: every topic
  P.topics = {
    path: /^\/?$|^\/topics\/?$/,
    title: function () { return 'Topics'; },
    load: function () { return N.get(N.api('/topics')); },
    render: function (doc) {
      var topics = doc.topics || [];
      var ga = G.active();
      if (!topics.length) {
        return html`<h2>Topics</h2>${notice('The cluster has no topics yet.')}`;
      }
      return html`<h2>Topics <span class="count">${topics.length}</span></h2>
      <table class="table topics-table">
        <thead><tr><th>Topic</th>
          ${chartsOn() ? html`<th class="num">Depth</th><th class="num">Rate</th><th>Last ${Math.round(60 * cfg.chart_interval / 1000)}s</th>` : ''}
          ${ga ? html`<th>Depth</th><th>Messages</th><th class="num">Rate</th>` : ''}
        </tr></thead>
        <tbody>${topics.map(function (t) {
    return html`<tr data-topic="${t}"><td>${link(topicPath(t), t)}</td>
          ${chartsOn() ? html`<td class="num" data-live="depth">–</td><td class="num" data-live="rate">–</td>${sparkCell(t, '', 'rate')}` : ''}
          ${ga ? html`<td>${G.spark('topic', '', t, '', 'depth')}</td><td>${G.spark('topic', '', t, '', 'message_count')}</td>${G.rateCell('topic', '*', t, '')}` : ''}
          </tr>`;
  })}</tbody>
      </table>`;
    },
    mount: function (root) {
      return live(root, new URLSearchParams({ points: '60' }), null, function (doc) {
        root.querySelectorAll('tr[data-topic]').forEach(function (tr) {
          var t = tr.getAttribute('data-topic');
          var s = doc.series.find(function (x) { return x.topic === t && x.channel === ''; });
          var last = function (vs) {
            for (var i = vs.length - 1; i >= 0; i--) { if (vs[i] !== null) { return vs[i]; } }
            return null;
          };
          var d = tr.querySelector('[data-live="depth"]');
          var r = tr.querySelector('[data-live="rate"]');
          if (d) { d.textContent = s && last(s.depth) !== null ? N.commafy(last(s.depth)) : '–'; }
          if (r) { r.textContent = s ? N.rate(last(s.rate)) : '–'; }
        });
      });
    }
  };

  // ---- one topic
  P.topic = {
    path: /^\/topics\/([^/]+)\/?$/,
    title: function (m) { return m[0]; },
    load: function (m) { return N.get(N.api(topicPath(m[0]))); },
    render: function (t, m) {
      var name = m[0];
      var nodes = t.nodes || [];
      var chans = t.channels || [];
      var ga = G.active();
      var lat = t.e2e_processing_latency;
      var np = pcts(lat).length;
      var out = [crumbs([['Topics', '/'], [name]]),
        html`<h2 class="title">Topic <strong>${name}</strong>${paused(t.paused)}</h2>`];
      if (!nodes.length) {
        out.push(notice(html`No nsqd has this topic now. ${link('/lookup', 'Lookup')} shows what nsqlookupd still knows of it.`));
      } else {
        out.push(adminButtons('topic', t.paused));
        out.push(chartPanel(['rate', 'depth', 'in_flight']));
        out.push(html`<h3>On each nsqd</h3>
        <table class="table" id="topic-nodes">
          <thead>
          ${np ? html`<tr><th colspan="${5 + (ga ? 1 : 0) + (chartsOn() ? 1 : 0)}"></th><th colspan="${np}" class="group">End-to-end latency</th></tr>` : ''}
          <tr><th>nsqd</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th class="num">Messages</th>
            ${ga ? html`<th class="num">Rate</th>` : ''}${liveRateHead()}<th class="num">Channels</th>${pctHeads(lat)}</tr>
          </thead><tbody>
          ${nodes.map(function (n) {
    return html`<tr data-node="${n.node}"><td>${tombstoneButton(n.node, name)} ${nodeName(n)}${paused(n.paused)}</td>
              ${num(n.depth)}${memDisk(n)}${num(n.message_count)}
              ${ga ? G.rateCell('topic', n.node, name, '') : ''}${liveRateCell(n.node)}
              ${num((n.channels || []).length)}${pctCells(n.e2e_processing_latency, np)}</tr>
            ${ga ? html`<tr class="graph-row"><td></td><td>${G.spark('topic', n.node, name, '', 'depth')}</td><td></td><td>${G.spark('topic', n.node, name, '', 'message_count')}</td><td></td>${chartsOn() ? N.raw('<td></td>') : ''}<td></td><td colspan="${np}">${np ? G.spark('e2e', n.node, n.e2e_processing_latency, '', 'e2e_processing_latency') : ''}</td></tr>` : ''}`;
  })}
          <tr class="total" data-node="*"><td>Total:</td>${num(t.depth)}${memDisk(t)}${num(t.message_count)}
            ${ga ? G.rateCell('topic', '*', name, '') : ''}${liveRateCell('*')}${num(chans.length)}${pctCells(lat, np)}</tr>
          ${ga ? html`<tr class="graph-row"><td></td><td>${G.spark('topic', '*', name, '', 'depth')}</td><td></td><td>${G.spark('topic', '*', name, '', 'message_count')}</td><td></td>${chartsOn() ? N.raw('<td></td>') : ''}<td></td><td colspan="${np}">${np ? G.spark('e2e', '*', lat, '', 'e2e_processing_latency') : ''}</td></tr>` : ''}
          </tbody></table>`);
      }
      out.push(html`<h3>Channels</h3>`);
      if (!chans.length) {
        out.push(notice('This topic has no channel: what is published waits in the topic until a channel exists.'));
      } else {
        out.push(html`<table class="table" id="topic-channels"><thead>
          ${np ? html`<tr><th colspan="${chartsOn() ? 10 : 9}"></th><th colspan="${np}" class="group">End-to-end latency</th></tr>` : ''}
          <tr><th>Channel</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th class="num">In-Flight</th><th class="num">Deferred</th>
          <th class="num">Requeued</th><th class="num">Timed Out</th><th class="num">Messages</th><th class="num">Connections</th>
          ${chartsOn() ? html`<th>Rate</th>` : ''}${pctHeads(lat)}</tr></thead><tbody>
          ${chans.map(function (c) {
    return html`<tr data-channel="${c.channel_name}"><th>${link(channelPath(name, c.channel_name), c.channel_name)}${paused(c.paused)}</th>
              ${num(c.depth)}${memDisk(c)}${num(c.in_flight_count)}${num(c.deferred_count)}${num(c.requeue_count)}
              ${num(c.timeout_count)}${num(c.message_count)}${num(c.client_count)}
              ${chartsOn() ? html`<td class="spark-cell"><canvas class="spark" width="90" height="20" data-topic="${name}" data-channel="${c.channel_name}" data-metric="rate"></canvas> <span class="spark-value"></span></td>` : ''}
              ${pctCells(c.e2e_processing_latency, np)}</tr>
            ${ga ? html`<tr class="graph-row"><td></td><td>${G.spark('channel', c.node, name, c.channel_name, 'depth')}</td><td></td>
              <td>${G.spark('channel', c.node, name, c.channel_name, 'in_flight_count')}</td><td>${G.spark('channel', c.node, name, c.channel_name, 'deferred_count')}</td>
              <td>${G.spark('channel', c.node, name, c.channel_name, 'requeue_count')}</td><td>${G.spark('channel', c.node, name, c.channel_name, 'timeout_count')}</td>
              <td>${G.spark('channel', c.node, name, c.channel_name, 'message_count')}</td><td>${G.spark('channel', c.node, name, c.channel_name, 'clients')}</td><td colspan="${np + (chartsOn() ? 1 : 0)}"></td></tr>` : ''}`;
  })}</tbody></table>`);
      }
      out.push(messagesPanel(name, ''));
      return html`${out}`;
    },
    mount: function (root, t, m) {
      var name = m[0];
      bindTombstones(root);
      bindPeek(root, name, '');
      root.querySelectorAll('.actions button').forEach(function (b) {
        b.addEventListener('click', function () {
          var action = b.getAttribute('data-action');
          act(html`${VERBS[action]} topic <em>${name}</em> ${WHERE[action]}?`, VERBS[action],
            function () {
              return action === 'delete'
                ? N.request('DELETE', N.api(topicPath(name)))
                : N.request('POST', N.api(topicPath(name)), { action: action });
            },
            function () { if (action === 'delete') { N.app.go('/'); } else { N.app.reload(); } });
        });
      });
      if (G.active()) { G.fillRates(root); }
      return live(root, new URLSearchParams({ topic: name }), [name, ''], function (doc) {
        fillNodeRates(root, doc, [name, '']);
      });
    }
  };

  function attributes(c) {
    var out = [];
    if (c.sample_rate) { out.push(html`<span class="label label-info">Sampled ${c.sample_rate}%</span>`); }
    if (c.tls) {
      var title = c.tls_version ? c.tls_version + ' ' + c.tls_cipher_suite + ' ' + c.tls_negotiated_protocol +
        ' mutual:' + c.tls_negotiated_protocol_is_mutual : '';
      out.push(html`<span class="label label-tls" title="${title}">TLS</span>`);
    }
    if (c.deflate) { out.push(html`<span class="label label-plain">Deflate</span>`); }
    if (c.snappy) { out.push(html`<span class="label label-primary">Snappy</span>`); }
    if (c.authed) {
      var who = 'Authed' + (c.auth_identity ? ' Identity:' + c.auth_identity : '');
      // the auth server's identity URL is linked only if it is http(s)
      out.push(/^https?:\/\//i.test(c.auth_identity_url || '')
        ? html`<a class="label label-success" href="${c.auth_identity_url}" title="${who}">Authed</a>`
        : html`<span class="label label-success" title="${who}">Authed</span>`);
    }
    return N.raw(out.map(String).join(' '));
  }
  function clientHost(c) {
    var id = String(c.client_id);
    var host = String(c.hostname);
    var short = host.split('.')[0];
    var showID = id.toLowerCase() !== short.toLowerCase() && id.toLowerCase() !== host.toLowerCase();
    var port = String(c.remote_address).split(':').pop();
    return html`<span title="${c.remote_address}">${host}:${port}</span>${showID ? html` (${id})` : ''}`;
  }

  // ---- one channel
  P.channel = {
    path: /^\/topics\/([^/]+)\/([^/]+)\/?$/,
    title: function (m) { return m[0] + '/' + m[1]; },
    load: function (m) { return N.get(N.api(channelPath(m[0], m[1]))); },
    render: function (c, m) {
      var topic = m[0];
      var name = m[1];
      var nodes = c.nodes || [];
      var clients = c.clients || [];
      var ga = G.active();
      var lat = c.e2e_processing_latency;
      var np = pcts(lat).length;
      var out = [crumbs([['Topics', '/'], [topic, topicPath(topic)], [name]]),
        html`<h2 class="title">Topic <strong>${topic}</strong> · Channel <strong>${name}</strong>${paused(c.paused)}</h2>`];
      if (!nodes.length) {
        out.push(notice(html`No nsqd has this topic now. ${link('/lookup', 'Lookup')} shows what nsqlookupd still knows of it.`));
      } else {
        out.push(adminButtons('channel', c.paused));
        out.push(chartPanel(['rate', 'depth', 'in_flight']));
        var row = function (s, total) {
          return html`<tr class="${total ? 'total' : ''}" data-node="${total ? '*' : s.node}"><td>${total ? 'Total:' : html`${nodeName(s)}${paused(s.paused)}`}</td>
            ${num(s.depth)}${memDisk(s)}${num(s.in_flight_count)}${num(s.deferred_count)}${num(s.requeue_count)}
            ${num(s.timeout_count)}${num(s.message_count)}${ga ? G.rateCell('channel', total ? '*' : s.node, topic, name) : ''}
            ${liveRateCell(total ? '*' : s.node)}${num(s.client_count)}${pctCells(s.e2e_processing_latency, np)}</tr>
          ${ga ? html`<tr class="graph-row"><td></td><td>${G.spark('channel', total ? '*' : s.node, topic, name, 'depth')}</td><td></td>
            <td>${G.spark('channel', total ? '*' : s.node, topic, name, 'in_flight_count')}</td><td>${G.spark('channel', total ? '*' : s.node, topic, name, 'deferred_count')}</td>
            <td>${G.spark('channel', total ? '*' : s.node, topic, name, 'requeue_count')}</td><td>${G.spark('channel', total ? '*' : s.node, topic, name, 'timeout_count')}</td>
            <td>${G.spark('channel', total ? '*' : s.node, topic, name, 'message_count')}</td><td></td>${chartsOn() ? N.raw('<td></td>') : ''}
            <td>${G.spark('channel', total ? '*' : s.node, topic, name, 'clients')}</td><td colspan="${np}"></td></tr>` : ''}`;
        };
        out.push(html`<h3>On each nsqd</h3><table class="table" id="channel-nodes"><thead>
          <tr><th></th><th colspan="4" class="group">Queued</th><th colspan="${4 + (ga ? 1 : 0) + (chartsOn() ? 1 : 0)}" class="group">Counts</th>
            ${np ? html`<th colspan="${np}" class="group">End-to-end latency</th>` : ''}</tr>
          <tr><th>nsqd</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th class="num">In-Flight</th><th class="num">Deferred</th>
            <th class="num">Requeued</th><th class="num">Timed Out</th><th class="num">Messages</th>${ga ? html`<th class="num">Rate</th>` : ''}
            ${liveRateHead()}<th class="num">Connections</th>${pctHeads(lat)}</tr></thead><tbody>
          ${nodes.map(function (n) { return row(n, false); })}${row(c, true)}</tbody></table>`);
      }
      out.push(html`<h3>Consumers</h3>`);
      if (!clients.length) {
        out.push(notice('No consumer is connected to this channel.'));
      } else {
        out.push(html`<table class="table" id="channel-clients"><thead><tr><th>Client</th><th>User agent</th><th>Features</th><th>nsqd</th>
          <th class="num">In-Flight</th><th class="num">Ready</th><th class="num">Finished</th><th class="num">Requeued</th>
          <th class="num">Messages</th><th class="num">Connected</th></tr></thead><tbody>
          ${clients.map(function (cl) {
    return html`<tr data-client="${cl.remote_address}"><td>${clientHost(cl)}</td><td><small>${cl.user_agent}</small></td>
              <td class="attrs">${attributes(cl)}</td><td>${link('/nodes/' + cl.node, cl.node)}</td>
              ${num(cl.in_flight_count)}${num(cl.ready_count)}${num(cl.finish_count)}${num(cl.requeue_count)}
              ${num(cl.message_count)}<td class="num">${N.nanos(cl.connected)}</td></tr>`;
  })}</tbody></table>`);
      }
      out.push(messagesPanel(topic, name));
      return html`${out}`;
    },
    mount: function (root, c, m) {
      var topic = m[0];
      var name = m[1];
      bindPeek(root, topic, name);
      root.querySelectorAll('.actions button').forEach(function (b) {
        b.addEventListener('click', function () {
          var action = b.getAttribute('data-action');
          act(html`${VERBS[action]} channel <em>${topic}/${name}</em> ${WHERE[action]}?`, VERBS[action],
            function () {
              return action === 'delete'
                ? N.request('DELETE', N.api(channelPath(topic, name)))
                : N.request('POST', N.api(channelPath(topic, name)), { action: action });
            },
            function () { if (action === 'delete') { N.app.go(topicPath(topic)); } else { N.app.reload(); } });
        });
      });
      if (G.active()) { G.fillRates(root); }
      return live(root, new URLSearchParams({ topic: topic, channel: name }), [topic, name], function (doc) {
        fillNodeRates(root, doc, [topic, name]);
      });
    }
  };

  // ---- every nsqd
  P.nodes = {
    path: /^\/nodes\/?$/,
    title: function () { return 'Nodes'; },
    load: function () { return N.get(N.api('/nodes')); },
    render: function (doc) {
      var nodes = doc.nodes || [];
      var lookupds = cfg.nsqlookupd.length;
      return html`<h2>nsqd <span class="count">${nodes.length}</span></h2>
      <table class="table" id="nodes"><thead><tr><th>Hostname</th><th>Broadcast Address</th><th class="num">TCP Port</th>
        <th class="num">HTTP Port</th><th>Version</th>${lookupds ? html`<th>nsqlookupd</th>` : ''}<th>Topics</th></tr></thead><tbody>
      ${nodes.map(function (n) {
    var addr = n.broadcast_address.indexOf(':') >= 0 ? '[' + n.broadcast_address + ']' : n.broadcast_address;
    var httpAddr = addr + ':' + n.http_port;
    var conns = n.remote_addresses || [];
    var topics = n.topics || [];
    return html`<tr class="${n.out_of_date ? 'out-of-date' : ''}" data-node="${httpAddr}"><td>${n.hostname}</td>
          <td>${link('/nodes/' + httpAddr, n.broadcast_address)}</td><td class="num">${n.tcp_port}</td><td class="num">${n.http_port}</td>
          <td>${n.version}${n.out_of_date ? html` <span class="label label-warning" title="another nsqd runs a newer version">out of date</span>` : ''}</td>
          ${lookupds ? html`<td><button type="button" class="btn btn-small conn-count ${conns.length !== lookupds ? 'btn-warning' : ''}" title="show the nsqlookupd this node is registered with">${conns.length}</button>
            <div class="conn-list" hidden>${conns.map(function (c) { return html`<div>${c}</div>`; })}</div></td>` : ''}
          <td>${topics.length ? html`<span class="badge">${topics.length}</span> ` : ''}${topics.map(function (t) {
    return html`<a href="${N.url(topicPath(t.topic))}" data-link class="label ${t.tombstoned ? 'label-warning' : 'label-primary'}"${t.tombstoned ? N.raw(' title="tombstoned: nsqlookupd does not list this nsqd for the topic"') : ''}>${t.topic}</a> `;
  })}</td></tr>`;
  })}</tbody></table>`;
    },
    mount: function (root) {
      root.querySelectorAll('.conn-count').forEach(function (b) {
        b.addEventListener('click', function () {
          var list = b.nextElementSibling;
          list.hidden = !list.hidden;
        });
      });
    }
  };

  // ---- one nsqd
  P.node = {
    path: /^\/nodes\/([^/]+)\/?$/,
    title: function (m) { return m[0]; },
    load: function (m) { return N.get(N.api('/nodes/' + enc(m[0]))); },
    render: function (doc, m) {
      var name = m[0];
      var topics = doc.topics || [];
      var ga = G.active();
      var out = [crumbs([['Nodes', '/nodes'], [name]]), html`<h2 class="title">Node <strong>${name}</strong></h2>`];
      if (ga) {
        out.push(html`<section class="graphite-node">${[['*_bytes', 'GC Pressure'], ['gc_pause_*', 'GC Pause Percentiles'],
          ['gc_runs', 'GC Runs'], ['heap_objects', 'Heap Objects In-Use']].map(function (g) {
          var src = G.large('node', name, '', '', g[0]);
          return html`<figure><a href="${src}"><img width="200" alt="" src="${src}"></a><figcaption>${g[1]}</figcaption></figure>`;
        })}</section>`);
      }
      if (!topics.length) {
        out.push(notice('This nsqd has no topics.'));
        return html`${out}`;
      }
      out.push(html`<p class="totals"><strong id="node-topics">${topics.length}</strong> Topics ·
        <strong id="node-messages">${N.commafy(doc.total_messages)}</strong> Messages ·
        <strong id="node-clients">${N.commafy(doc.total_clients)}</strong> Clients</p>`);
      out.push(html`<table class="table node-table" id="node-table">${topics.map(function (t) {
        var chans = t.channels || [];
        return html`<tbody class="node-topic" data-topic="${t.topic_name}">
          <tr class="head"><th colspan="3">Topic</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th colspan="4"></th><th class="num">Messages</th><th class="num">Channels</th></tr>
          <tr class="topic-row"><td colspan="3">${tombstoneButton(name, t.topic_name)} ${link(topicPath(t.topic_name), t.topic_name)}${paused(t.paused)}</td>
            <td class="num">${ga ? G.spark('topic', t.node, t.topic_name, '', 'depth') : ''} ${N.commafy(t.depth)}</td>${memDisk(t)}<td colspan="4"></td>
            <td class="num">${ga ? G.spark('topic', t.node, t.topic_name, '', 'message_count') : ''} ${N.commafy(t.message_count)}</td>${num(chans.length)}</tr>
          ${!chans.length ? html`<tr><td colspan="11">${notice('No channel.')}</td></tr>` : chans.map(function (c) {
    var clients = c.clients || [];
    return html`<tr class="head"><th></th><th colspan="2">Channel</th><th class="num">Depth</th><th class="num">Memory + Disk</th><th class="num">In-Flight</th>
              <th class="num">Deferred</th><th class="num">Requeued</th><th class="num">Timed Out</th><th class="num">Messages</th><th class="num">Connections</th></tr>
            <tr class="channel-row" data-channel="${c.channel_name}"><td></td><td colspan="2">${link(channelPath(t.topic_name, c.channel_name), c.channel_name)}${paused(c.paused)}</td>
              <td class="num">${ga ? G.spark('channel', c.node, t.topic_name, c.channel_name, 'depth') : ''} ${N.commafy(c.depth)}</td>${memDisk(c)}
              ${num(c.in_flight_count)}${num(c.deferred_count)}${num(c.requeue_count)}${num(c.timeout_count)}${num(c.message_count)}
              <td class="num">${ga ? G.spark('channel', c.node, t.topic_name, c.channel_name, 'clients') : ''} ${N.commafy(clients.length)}</td></tr>
            ${!clients.length ? html`<tr><td colspan="11">${notice('No consumer.')}</td></tr>`
    : html`<tr class="head"><th></th><th>Client</th><th>User agent</th><th></th><th>Features</th><th class="num">In-Flight</th>
                <th class="num">Ready</th><th class="num">Requeued</th><th class="num">Finished</th><th class="num">Messages</th><th class="num">Connected</th></tr>
              ${clients.map(function (cl) {
    return html`<tr class="client-row"><td></td><td>${clientHost(cl)}</td><td><small>${cl.user_agent}</small></td><td></td>
                  <td class="attrs">${attributes(cl)}</td>${num(cl.in_flight_count)}${num(cl.ready_count)}${num(cl.requeue_count)}
                  ${num(cl.finish_count)}${num(cl.message_count)}<td class="num">${N.nanos(cl.connected)}</td></tr>`;
  })}`}`;
  })}</tbody>`;
      })}</table>`);
      return html`${out}`;
    },
    mount: function (root) { bindTombstones(root); }
  };

  // ---- nsqlookupd: inactive topics, and creating topics and channels
  P.lookup = {
    path: /^\/lookup\/?$/,
    title: function () { return 'Lookup'; },
    load: function () {
      if (!cfg.nsqlookupd.length) { return Promise.resolve({ topics: {}, message: '' }); }
      return N.get(N.api('/topics?inactive=true'));
    },
    render: function (doc) {
      var out = [html`<h2>Lookup</h2>`];
      if (!cfg.nsqlookupd.length) {
        out.push(notice('This nsqadmin reads the cluster from nsqd (--nsqd-http-address), not from nsqlookupd: there is nothing to look up.'));
        return html`${out}`;
      }
      out.push(html`<table class="table narrow" id="lookupds"><thead><tr><th>nsqlookupd</th></tr></thead>
        <tbody>${cfg.nsqlookupd.map(function (h) { return html`<tr><td>${h}</td></tr>`; })}</tbody></table>`);
      var names = Object.keys(doc.topics || {}).sort();
      if (names.length) {
        out.push(html`<h3>Inactive</h3><div class="info">Topics and channels that nsqlookupd knows but that no nsqd has at the moment.</div>
        <ul class="tree" id="inactive">${names.map(function (t) {
    return html`<li data-topic="${t}">${cfg.is_admin ? html`<button type="button" class="link-btn delete-topic" data-topic="${t}" title="delete">✘</button> ` : ''}${link(topicPath(t), t)}
            <ul>${(doc.topics[t] || []).map(function (c) {
    return html`<li data-channel="${c}">${cfg.is_admin ? html`<button type="button" class="link-btn delete-channel" data-topic="${t}" data-channel="${c}" title="delete">✘</button> ` : ''}${link(channelPath(t, c), c)}</li>`;
  })}</ul></li>`;
  })}</ul>`);
      } else {
        out.push(notice('Every topic nsqlookupd knows is on some nsqd.'));
      }
      if (cfg.is_admin) {
        out.push(html`<form class="create" id="create-form" autocomplete="off">
          <h3>Create</h3>
          <div class="info">Creates a topic (and a channel of it) on every nsqlookupd, and the channel on every nsqd
            that has the topic, ahead of the producers and consumers that will use them. Leave the channel empty for the topic alone.</div>
          <div class="form-row"><input type="text" name="topic" placeholder="topic" maxlength="64" aria-label="topic">
          <input type="text" name="channel" placeholder="channel (optional)" maxlength="64" aria-label="channel">
          <button class="btn btn-primary" type="submit">Create</button></div>
        </form>`);
      }
      return html`${out}`;
    },
    mount: function (root) {
      root.querySelectorAll('.delete-topic').forEach(function (b) {
        b.addEventListener('click', function () {
          var t = b.getAttribute('data-topic');
          act(html`Delete topic <em>${t}</em> from every nsqlookupd?`, 'Delete',
            function () { return N.request('DELETE', N.api(topicPath(t))); },
            function () { N.app.reload(); });
        });
      });
      root.querySelectorAll('.delete-channel').forEach(function (b) {
        b.addEventListener('click', function () {
          var t = b.getAttribute('data-topic');
          var c = b.getAttribute('data-channel');
          act(html`Delete channel <em>${t}/${c}</em> from every nsqlookupd?`, 'Delete',
            function () { return N.request('DELETE', N.api(channelPath(t, c))); },
            function () { N.app.reload(); });
        });
      });
      var form = root.querySelector('#create-form');
      if (form) {
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          var topic = form.elements.topic.value.trim();
          var channel = form.elements.channel.value.trim();
          if (topic === '' && channel === '') { return; }
          var what = channel ? html`channel <em>${topic}/${channel}</em>` : html`topic <em>${topic}</em>`;
          act(html`Create ${what}?`, 'Create',
            function () { return N.request('POST', N.api('/topics'), { topic: topic, channel: channel }); },
            function () { form.reset(); N.app.reload(); });
        });
      }
    }
  };

  // ---- the counter: every message that reached a channel
  P.counter = {
    path: /^\/counter\/?$/,
    title: function () { return 'Counter'; },
    load: function () { return Promise.resolve({ message: '' }); },
    noRefresh: true,
    render: function () {
      return html`<section class="counter">
        <div class="digits" id="counter-digits" aria-label="messages processed"></div>
        <p class="counter-label">messages delivered to channels</p>
        <p class="counter-rate" id="counter-rate"></p>
        ${chartPanel(['rate'])}
        ${G.active() ? html`<img class="big-graph" id="big_graph" height="500" alt="" src="${G.large('counter', '*', '', '', 'message_count')}">` : ''}
      </section>`;
    },
    mount: function (root) {
      var digits = root.querySelector('#counter-digits');
      var rateEl = root.querySelector('#counter-rate');
      var shown = -1;
      var target = 0;
      var last = null;
      var stopped = false;
      var poll = null;
      var anim = null;
      function write(n) {
        var s = N.commafy(Math.floor(n));
        digits.setAttribute('data-count', String(Math.floor(n)));
        digits.innerHTML = html`${s.split('').map(function (ch) {
          return ch === ',' ? html`<span class="sep">,</span>` : html`<span class="digit">${ch}</span>`;
        })}`.s;
      }
      function animate() {
        var step = Math.max(1, (target - shown) / 20);
        shown = Math.min(target, shown + step);
        write(shown);
        anim = shown < target ? setTimeout(animate, 1000 / 30) : null;
      }
      function update() {
        N.get(N.api('/counter')).then(function (doc) {
          if (stopped) { return; }
          N.banner(doc.message, 'warning');
          var total = 0;
          Object.keys(doc.stats || {}).forEach(function (k) { total += doc.stats[k].message_count; });
          var now = Date.now();
          if (last && total >= last.total) {
            rateEl.textContent = N.commafy(Math.round((total - last.total) / ((now - last.at) / 1000))) + ' messages per second';
          }
          last = { total: total, at: now };
          target = total;
          if (shown < 0 || total < shown) {
            shown = total;
            write(shown);
          } else if (!anim && shown < target) {
            animate();
          }
        }, function (err) {
          if (!stopped) { N.banner(err.message, 'error'); }
        }).then(function () {
          if (!stopped) { poll = setTimeout(update, 2000); }
        });
        var img = root.querySelector('#big_graph');
        if (img) {
          var base = img.getAttribute('data-src') || img.getAttribute('src');
          img.setAttribute('data-src', base);
          img.setAttribute('src', base + '&_uniq=' + Math.floor(Math.random() * 1e6));
        }
      }
      update();
      var stopChart = liveTotal(root);
      return function () {
        stopped = true;
        clearTimeout(poll);
        clearTimeout(anim);
        stopChart();
      };
    }
  };

  // liveTotal draws the cluster's message rate in the counter's chart.
  function liveTotal(root) {
    var el = root.querySelector('[data-chart="rate"]');
    if (!el || !chartsOn()) { return function () {}; }
    var chart = new N.Chart(el, 'Messages processed per second (all channels)', '/s');
    var stopped = false;
    var timer = null;
    function tick() {
      N.get(N.api('/charts')).then(function (doc) {
        if (stopped) { return; }
        var s = doc.series.find(function (x) { return x.topic === '' && x.channel === ''; });
        chart.set(doc.times, [{ label: 'rate', color: N.chartColors.rate, values: s ? s.rate : [] }]);
      }, function () {}).then(function () {
        if (!stopped) { timer = setTimeout(tick, Math.max(cfg.chart_interval, 1000)); }
      });
    }
    tick();
    return function () {
      stopped = true;
      clearTimeout(timer);
    };
  }
})(NSQ);
