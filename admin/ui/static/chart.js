// chart.js: line charts and sparklines drawn on <canvas>, from the series
// of /api/charts (times in unix ms, values with null for gaps).
'use strict';

(function (N) {
  var COLORS = { rate: '#1f6feb', depth: '#d1242f', in_flight: '#bf8700' };
  N.chartColors = COLORS;

  // setup sizes canvas for the device pixel ratio and returns its 2D
  // context in CSS pixels.
  function setup(canvas, width, height) {
    var dpr = window.devicePixelRatio || 1;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    var ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    return ctx;
  }

  function maxOf(values) {
    var m = 0;
    for (var i = 0; i < values.length; i++) {
      if (values[i] !== null && values[i] > m) { m = values[i]; }
    }
    return m;
  }

  // niceMax rounds m up to 1, 2 or 5 times a power of ten.
  function niceMax(m) {
    if (m <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(m)));
    var f = m / p;
    var n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return n * p;
  }

  // path draws values as line segments, leaving gaps at nulls.
  function path(ctx, values, x, y) {
    var open = false;
    ctx.beginPath();
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || v === undefined) { open = false; continue; }
      if (!open) {
        ctx.moveTo(x(i), y(v));
        open = true;
        // a lone point still shows
        if (i + 1 >= values.length || values[i + 1] === null) { ctx.lineTo(x(i) + 0.5, y(v)); }
      } else {
        ctx.lineTo(x(i), y(v));
      }
    }
    ctx.stroke();
  }

  // sparkline draws values in a small canvas; it returns the last value
  // that is not a gap (or null).
  N.sparkline = function (canvas, values, color) {
    var w = Number(canvas.getAttribute('width')) || 120;
    var h = Number(canvas.getAttribute('height')) || 24;
    var ctx = setup(canvas, w, h);
    var top = niceMax(maxOf(values));
    var n = Math.max(values.length - 1, 1);
    ctx.strokeStyle = color || COLORS.rate;
    ctx.lineWidth = 1.25;
    path(ctx, values, function (i) { return 1 + (w - 2) * i / n; },
      function (v) { return h - 2 - (h - 4) * v / top; });
    canvas.setAttribute('data-drawn', String(values.length));
    for (var i = values.length - 1; i >= 0; i--) {
      if (values[i] !== null) { return values[i]; }
    }
    return null;
  };

  function clock(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }

  // Chart is a line chart with axes, a legend and a hover readout, in
  // el (a block element). lines: [{label, color, values}], times in ms.
  function Chart(el, title, unit) {
    this.el = el;
    this.title = title;
    this.unit = unit || '';
    el.classList.add('chart');
    el.innerHTML = '';
    var head = document.createElement('div');
    head.className = 'chart-head';
    this.head = head;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', title);
    el.appendChild(head);
    el.appendChild(this.canvas);
    this.times = [];
    this.lines = [];
    this.hover = -1;
    var self = this;
    this.canvas.addEventListener('mousemove', function (e) {
      var r = self.canvas.getBoundingClientRect();
      self.hover = self.indexAt(e.clientX - r.left);
      self.draw();
    });
    this.canvas.addEventListener('mouseleave', function () {
      self.hover = -1;
      self.draw();
    });
  }

  Chart.prototype.PAD = { left: 48, right: 10, top: 8, bottom: 22 };

  Chart.prototype.set = function (times, lines) {
    this.times = times;
    this.lines = lines;
    this.draw();
  };

  Chart.prototype.indexAt = function (x) {
    var n = this.times.length;
    if (n === 0) { return -1; }
    var w = this.width - this.PAD.left - this.PAD.right;
    var i = Math.round((x - this.PAD.left) / w * (n - 1));
    return Math.max(0, Math.min(n - 1, i));
  };

  Chart.prototype.legend = function () {
    var i = this.hover >= 0 ? this.hover : this.times.length - 1;
    var self = this;
    var parts = this.lines.map(function (l) {
      var v = i >= 0 ? l.values[i] : null;
      var txt = v === null || v === undefined ? '–' : N.shortNumber(v) + self.unit;
      return N.html`<span class="legend-item"><i style="background:${l.color}"></i>${l.label} <b data-last="${l.label}">${txt}</b></span>`;
    });
    var when = i >= 0 ? clock(this.times[i]) : '';
    this.head.innerHTML = N.html`<span class="chart-title">${this.title}</span>${parts}<span class="chart-time">${when}</span>`.s;
  };

  Chart.prototype.draw = function () {
    var width = Math.max(this.el.clientWidth, 200);
    var height = 150;
    this.width = width;
    var ctx = setup(this.canvas, width, height);
    var P = this.PAD;
    var w = width - P.left - P.right;
    var h = height - P.top - P.bottom;
    var n = this.times.length;
    var top = niceMax(Math.max.apply(null, this.lines.map(function (l) { return maxOf(l.values); }).concat([0])));

    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#6e7781';
    ctx.strokeStyle = '#d8dee4';
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (var g = 0; g <= 4; g++) {
      var gy = Math.round(P.top + h - h * g / 4) + 0.5;
      ctx.beginPath();
      ctx.moveTo(P.left, gy);
      ctx.lineTo(P.left + w, gy);
      ctx.stroke();
      ctx.fillText(N.shortNumber(top * g / 4), P.left - 6, gy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    if (n > 0) {
      // up to 5 time labels, none repeated (samples can be less than a
      // second apart)
      var ticks = Math.min(5, n);
      var shown = '';
      for (var t = 0; t < ticks; t++) {
        var idx = ticks === 1 ? n - 1 : Math.round((n - 1) * t / (ticks - 1));
        var label = clock(this.times[idx]);
        if (label === shown) { continue; }
        shown = label;
        var tx = P.left + (n === 1 ? w : w * idx / (n - 1));
        ctx.fillText(label, Math.min(Math.max(tx, P.left + 24), P.left + w - 24), P.top + h + 6);
      }
    } else {
      ctx.fillText('waiting for the first samples…', P.left + w / 2, P.top + h / 2);
    }
    var x = function (i) { return P.left + (n <= 1 ? w : w * i / (n - 1)); };
    var y = function (v) { return P.top + h - h * v / top; };
    ctx.lineWidth = 1.6;
    this.lines.forEach(function (l) {
      ctx.strokeStyle = l.color;
      path(ctx, l.values, x, y);
    });
    if (this.hover >= 0 && n > 0) {
      var hx = Math.round(x(this.hover)) + 0.5;
      ctx.strokeStyle = '#8c959f';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(hx, P.top);
      ctx.lineTo(hx, P.top + h);
      ctx.stroke();
    }
    this.canvas.setAttribute('data-points', String(n));
    this.legend();
  };

  N.Chart = Chart;
})(NSQ);
