// app.js: routing (history API, under the base path), the navigation bar,
// its settings (Graphite time frame, auto-refresh) and page refreshes.
'use strict';

(function (N) {
  var html = N.html;
  var cfg = N.config;
  var G = N.graphite;
  var P = N.pages;
  var ORDER = [P.topics, P.channel, P.topic, P.nodes, P.node, P.lookup, P.counter];
  var NAV = [['Topics', '/', [P.topics, P.topic, P.channel]], ['Nodes', '/nodes', [P.nodes, P.node]],
    ['Counter', '/counter', [P.counter]], ['Lookup', '/lookup', [P.lookup]]];
  var REFRESH = ['off', '2s', '5s', '10s', '30s', '60s'];

  var app = N.app = {};
  var current = null; // {page, match, stop, seq}
  var seq = 0;
  var refreshTimer = null;

  // local is the path below the base path.
  function local() {
    var p = window.location.pathname;
    if (cfg.base_path && p.indexOf(cfg.base_path) === 0) { p = p.slice(cfg.base_path.length); }
    return p || '/';
  }

  function resolve(p) {
    for (var i = 0; i < ORDER.length; i++) {
      var m = ORDER[i].path.exec(p);
      if (m) {
        return { page: ORDER[i], args: m.slice(1).map(function (s) { return decodeURIComponent(s); }) };
      }
    }
    return null;
  }

  function renderNav(page) {
    document.getElementById('nav').innerHTML = html`${NAV.map(function (n) {
      var active = n[2].indexOf(page) >= 0;
      return html`<a href="${N.url(n[1])}" data-link class="${active ? 'active' : ''}">${n[0]}</a>`;
    })}`.s;
    var right = [];
    if (cfg.graph_enabled) {
      right.push(html`<label class="setting" title="Graphite time frame">Graphs
        <select id="graph-interval">${G.intervals.map(function (i) {
    return html`<option${i === G.interval() ? N.raw(' selected') : ''}>${i}</option>`;
  })}</select></label>`);
    }
    var r = N.setting('refresh', '5s');
    right.push(html`<label class="setting" title="reload the page's numbers every...">Refresh
      <select id="refresh">${REFRESH.map(function (i) { return html`<option${i === r ? N.raw(' selected') : ''}>${i}</option>`; })}</select></label>`);
    right.push(html`<a class="ext" href="https://nsq.io/">Docs</a><span class="version">v${cfg.version}</span>`);
    document.getElementById('topbar-right').innerHTML = html`${right}`.s;
    var gi = document.getElementById('graph-interval');
    if (gi) {
      gi.addEventListener('change', function () {
        N.saveSetting('graph_interval', gi.value);
        var u = new URL(window.location.href);
        u.searchParams.delete('t');
        window.history.replaceState(null, '', u.pathname + u.search);
        app.reload();
      });
    }
    document.getElementById('refresh').addEventListener('change', function (e) {
      N.saveSetting('refresh', e.target.value);
      schedule();
    });
  }

  function stopCurrent() {
    if (current && current.stop) { current.stop(); }
    if (current) { current.stop = null; }
  }

  // show loads and renders the page for the current URL. quiet keeps the
  // page on screen while reloading (auto-refresh) and the scroll position.
  function show(quiet) {
    var found = resolve(local());
    var root = document.getElementById('page');
    var my = ++seq;
    if (!found) {
      stopCurrent();
      current = null;
      renderNav(null);
      root.innerHTML = html`<div class="error-box"><strong>Not found</strong> There is no page at ${window.location.pathname}.</div>`.s;
      return Promise.resolve();
    }
    var page = found.page;
    if (!quiet) {
      stopCurrent();
      current = { page: page, args: found.args };
      renderNav(page);
      N.banner('');
      document.title = page.title(found.args) + ' · nsqadmin';
      root.innerHTML = '<div class="loading">Loading…</div>';
      root.setAttribute('data-state', 'loading');
    }
    return page.load(found.args).then(function (doc) {
      if (my !== seq) { return; }
      var scroll = window.scrollY;
      stopCurrent();
      current = { page: page, args: found.args };
      N.banner(doc && doc.message, 'warning');
      root.innerHTML = page.render(doc, found.args).s;
      root.setAttribute('data-page', Object.keys(P).find(function (k) { return P[k] === page; }));
      root.setAttribute('data-state', 'ready');
      current.stop = page.mount ? page.mount(root, doc, found.args) : null;
      if (quiet) { window.scrollTo(0, scroll); }
    }, function (err) {
      if (my !== seq) { return; }
      if (quiet) {
        N.banner(err.message, 'error');
        return;
      }
      root.innerHTML = html`<div class="error-box">${err.message}</div>`.s;
      root.setAttribute('data-state', 'error');
    });
  }

  // go navigates to a path below the base path.
  app.go = function (p) {
    window.history.pushState(null, '', N.url(p));
    window.scrollTo(0, 0);
    show(false);
  };
  // reload shows the current page again, with fresh numbers.
  app.reload = function () { return show(true); };

  // busy reports whether a refresh now would get in the user's way.
  function busy() {
    if (N.dialogOpen()) { return true; }
    var a = document.activeElement;
    return !!(a && (a.tagName === 'INPUT' || a.tagName === 'SELECT') && a.closest('#page'));
  }

  function schedule() {
    clearTimeout(refreshTimer);
    var r = N.setting('refresh', '5s');
    if (r === 'off') { return; }
    var ms = parseInt(r, 10) * 1000;
    refreshTimer = setTimeout(function tick() {
      var p = current && current.page;
      var done = (!p || p.noRefresh || busy() || document.hidden) ? Promise.resolve() : show(true);
      done.then(function () { refreshTimer = setTimeout(tick, ms); });
    }, ms);
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest('a[data-link]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) { return; }
    e.preventDefault();
    window.history.pushState(null, '', a.getAttribute('href'));
    window.scrollTo(0, 0);
    show(false);
  });
  window.addEventListener('popstate', function () { show(false); });

  show(false);
  schedule();
})(NSQ);
