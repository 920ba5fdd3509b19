// util.js: configuration, HTML building, number formatting, API calls,
// the confirmation dialog and the message banner. Everything lives on the
// NSQ global; no library is used.
'use strict';

var NSQ = window.NSQ = {};

(function (N) {
  N.config = JSON.parse(document.getElementById('nsqadmin-config').textContent);

  // url is a path under the base path ("/topics/x" -> "/admin/topics/x").
  N.url = function (p) {
    return (N.config.base_path + p).replace(/\/$/, '') || '/';
  };
  N.api = function (p) { return N.url('/api' + p); };

  // ---- HTML: html`...` escapes every interpolated value unless it is
  // itself the result of html`` (or N.raw); arrays are concatenated;
  // null, undefined and false render as nothing.
  function Raw(s) { this.s = s; }
  Raw.prototype.toString = function () { return this.s; };
  N.raw = function (s) { return new Raw(String(s)); };

  var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  N.esc = function (s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); };

  function part(v) {
    if (v === null || v === undefined || v === false) { return ''; }
    if (v instanceof Raw) { return v.s; }
    if (Array.isArray(v)) { return v.map(part).join(''); }
    return N.esc(v);
  }
  N.html = function (strings) {
    var out = strings[0];
    for (var i = 1; i < strings.length; i++) {
      out += part(arguments[i]) + strings[i];
    }
    return new Raw(out);
  };

  // ---- numbers
  // commafy groups thousands: 1234567 -> "1,234,567".
  var grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 });
  N.commafy = function (n) { return grouping.format(n || 0); };
  function round(n, places) {
    var m = Math.pow(10, places);
    return Math.round(n * m) / m;
  }
  // nanos renders a duration in nanoseconds: "1h2m3.5s", "12.34ms"...
  N.nanos = function (n) {
    n = n || 0;
    var s = '';
    if (n >= 3600e9) { s += Math.floor(n / 3600e9) + 'h'; n %= 3600e9; }
    if (n >= 60e9) { s += Math.floor(n / 60e9) + 'm'; n %= 60e9; }
    if (n >= 1e9) { return s + round(n / 1e9, 2) + 's'; }
    if (s !== '') { return s; }
    if (n >= 1e6) { return round(n / 1e6, 2) + 'ms'; }
    if (n >= 1e3) { return round(n / 1e3, 2) + 'us'; }
    return n + 'ns';
  };
  N.percentile = function (q) {
    var p = Math.floor(q * 100);
    var last = p % 10;
    var suffix = (p % 100 >= 11 && p % 100 <= 13) ? 'th' :
      last === 1 ? 'st' : last === 2 ? 'nd' : last === 3 ? 'rd' : 'th';
    return N.html`${p}<sup>${suffix}</sup>`;
  };
  // rate renders messages per second.
  N.rate = function (r) {
    if (r === null || r === undefined || isNaN(r)) { return '–'; }
    if (r >= 100) { return N.commafy(Math.round(r)) + '/s'; }
    return (Math.round(r * 10) / 10) + '/s';
  };
  N.shortNumber = function (v) {
    var a = Math.abs(v);
    if (a >= 1e9) { return round(v / 1e9, 1) + 'G'; }
    if (a >= 1e6) { return round(v / 1e6, 1) + 'M'; }
    if (a >= 1e4) { return round(v / 1e3, 1) + 'k'; }
    return String(round(v, 2));
  };

  // ---- API calls. request resolves with the decoded JSON answer (or
  // null for an empty one) and rejects with an Error whose message is the
  // answer's "message" (or what went wrong).
  N.request = function (method, path, body) {
    var opts = {
      method: method,
      headers: { 'Accept': 'application/vnd.nsq; version=1.0' },
      credentials: 'same-origin'
    };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var doc = null;
        if (text !== '') {
          try {
            doc = JSON.parse(text);
          } catch (e) {
            throw new Error('ERROR: failed to decode JSON - ' + e.message);
          }
        }
        if (!resp.ok) {
          var err = new Error((doc && doc.message) || (resp.status + ' ' + resp.statusText));
          err.status = resp.status;
          throw err;
        }
        return doc;
      });
    }, function () {
      throw new Error('ERROR: failed to connect to nsqadmin');
    });
  };
  N.get = function (path) { return N.request('GET', path); };

  // ---- the banner shows an answer's warning, or an error.
  N.banner = function (text, kind) {
    var b = document.getElementById('banner');
    if (!text) {
      b.hidden = true;
      b.textContent = '';
      return;
    }
    b.className = 'banner banner-' + (kind || 'warning');
    b.textContent = text;
    b.hidden = false;
  };

  // ---- confirm asks a yes/no question in our own dialog; the promise
  // resolves true when OK is chosen. question is html``.
  var pending = null;
  N.confirm = function (question, okLabel) {
    var modal = document.getElementById('modal');
    document.getElementById('modal-text').innerHTML = part(question);
    var ok = document.getElementById('modal-ok');
    ok.textContent = okLabel || 'OK';
    modal.hidden = false;
    ok.focus();
    return new Promise(function (resolve) { pending = resolve; });
  };
  N.dialogOpen = function () { return !document.getElementById('modal').hidden; };
  function answer(v) {
    document.getElementById('modal').hidden = true;
    var p = pending;
    pending = null;
    if (p) { p(v); }
  }
  document.getElementById('modal-ok').addEventListener('click', function () { answer(true); });
  document.getElementById('modal-cancel').addEventListener('click', function () { answer(false); });
  document.getElementById('modal').addEventListener('click', function (e) {
    if (e.target.id === 'modal') { answer(false); }
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && N.dialogOpen()) { answer(false); }
  });

  // ---- settings kept in the browser
  N.setting = function (key, fallback) {
    try {
      var v = window.localStorage.getItem('nsqadmin.' + key);
      return v === null ? fallback : v;
    } catch (e) {
      return fallback;
    }
  };
  N.saveSetting = function (key, value) {
    try { window.localStorage.setItem('nsqadmin.' + key, value); } catch (e) { /* private mode */ }
  };

  // hostPort is "hostname:port" of a node address "host:port".
  N.hostPort = function (hostname, node) {
    var port = String(node).split(':').pop();
    return hostname + ':' + port;
  };
})(NSQ);
