// Progressive enhancement only: every page works without this file.
// 1. Search as you type: suggestions under the search box (the form still submits).
// 2. The map: drawn here from TopoJSON fetched once; the date slider swaps fills without
//    reloading; zoom, pan, click (or Enter) on a state or county for its agreements.
(function () {
  "use strict";
  var root = document.documentElement.dataset.root || "";
  var isStatic = document.documentElement.hasAttribute("data-static");
  var lang = document.documentElement.lang === "es" ? "es" : "en";
  var prefix = root + (lang === "es" ? "/es" : "");
  var params = new URLSearchParams(window.location.search);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // ---- search without a server (static site): a prebuilt index, typo-tolerant ----
  // Every word of the query must be a word of the agency's names, county, type or state, a
  // prefix of one, or one or two letters away from one (as the server's search forgives typos).
  var index = null;
  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[\u2019\u2018'`\u00b4\u02bc]/g, "").replace(/[^0-9a-z]+/g, " ").trim();
  }
  function distance(a, b, most) {  // edits, a swap of two neighbouring letters counting as one
    if (Math.abs(a.length - b.length) > most) { return most + 1; }
    var before = null, prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) { prev.push(j); }
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      var low = i;
      for (j = 1; j <= b.length; j++) {
        var d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (before && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) { d = Math.min(d, before[j - 2] + 1); }
        cur.push(d);
        low = Math.min(low, d);
      }
      if (low > most) { return most + 1; }
      before = prev;
      prev = cur;
    }
    return prev[b.length];
  }
  function wordScore(word, words) {
    var best = 0, most = word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0;
    for (var i = 0; i < words.length && best < 3; i++) {
      var w = words[i];
      if (w === word) { best = 3; } else if (w.indexOf(word) === 0) { best = Math.max(best, 2); }
      else if (word.length >= 3 && w.indexOf(word) > 0) { best = Math.max(best, 1.5); }
      else if (most && best < 1 && distance(word, w, most) <= most) { best = 1; }
    }
    return best;
  }
  function findLocal(text, limit) {
    if (!index) {
      index = fetch(document.querySelector("form.search").dataset.index).then(function (r) { return r.json(); }).then(function (body) {
        body.items.forEach(function (a) { a.words = a.body.split(" "); });
        return body.items;
      });
    }
    var words = fold(text).split(" ").filter(Boolean);
    return index.then(function (items) {
      var found = [];
      items.forEach(function (a) {
        var total = 0;
        for (var i = 0; i < words.length; i++) {
          var score = wordScore(words[i], a.words);
          if (!score) { return; }
          total += score;
        }
        if (words.length) { found.push([total + (fold(a.name).indexOf(words.join(" ")) === 0 ? 2 : 0), a]); }
      });
      found.sort(function (x, y) { return y[0] - x[0] || (x[1].name < y[1].name ? -1 : 1); });
      return found.slice(0, limit || found.length).map(function (f) { return f[1]; });
    });
  }

  var results = document.getElementById("results");
  if (isStatic && results && params.get("q")) {
    var pageQuery = params.get("q");
    document.getElementById("q").value = pageQuery;
    findLocal(pageQuery).then(function (items) {
      var count = document.getElementById("search-count");
      count.textContent = count.dataset.template.replace("{q}", pageQuery).replace("{n}", items.length.toLocaleString(lang));
      count.hidden = false;
      items.forEach(function (a) {
        var item = el("li");
        item.appendChild(el("a", { href: prefix + "/agency/" + a.agency_id }, a.name));
        item.appendChild(document.createTextNode(" · " + (lang === "es" ? a.state_name_es : a.state_name) + (a.county ? " · " + a.county : "") + " · " +
          (a.models.length ? a.models.join(", ") : results.dataset[a.status])));
        results.appendChild(item);
      });
    });
  }

  // ---- changes without a server: every change is on the page; the form filters rows ----
  var filter = document.getElementById("changes-filter");
  if (filter && filter.hasAttribute("data-client")) {
    var applyFilter = function () {
      var want = {};
      ["since", "until", "state", "kind"].forEach(function (k) { want[k] = filter.elements[k].value; });
      var shown = 0;
      document.querySelectorAll("table.events tbody tr[data-date]").forEach(function (row) {
        var d = row.dataset;
        var ok = (!want.since || d.date >= want.since) && (!want.until || d.date <= want.until) &&
          (!want.state || d.state === want.state) && (!want.kind || d.kind === want.kind);
        row.hidden = !ok;
        shown += ok ? 1 : 0;
      });
      var count = document.getElementById("changes-count");
      count.textContent = count.dataset.template.replace("{n}", shown.toLocaleString(lang));
      var csv = document.getElementById("changes-csv");
      csv.href = root + "/api/v1/changes" + (want.state ? ".state-" + want.state : "") + ".csv";
      return want;
    };
    ["since", "until", "state", "kind"].forEach(function (k) {
      if (params.get(k)) { filter.elements[k].value = params.get(k); }
    });
    applyFilter();
    filter.addEventListener("submit", function (e) {
      e.preventDefault();
      var want = applyFilter(), url = new URL(window.location.href);
      Object.keys(want).forEach(function (k) { if (want[k]) { url.searchParams.set(k, want[k]); } else { url.searchParams.delete(k); } });
      history.replaceState(null, "", url);
    });
  }

  // ---- search as you type ----
  var input = document.getElementById("q");
  if (input && window.fetch) {
    var list = el("ul", { id: "q-suggest", role: "listbox", "class": "suggest", hidden: "" });
    input.setAttribute("autocomplete", "off");
    input.setAttribute("aria-controls", "q-suggest");
    input.setAttribute("aria-autocomplete", "list");
    input.form.appendChild(list);
    var timer = null, asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = input.value.trim();
        asked = text;
        if (text.length < 2) { list.hidden = true; return; }
        (isStatic ? findLocal(text, 8).then(function (items) { return { items: items }; })
          : fetch(root + "/api/v1/agencies?limit=8&q=" + encodeURIComponent(text))
            .then(function (r) { return r.ok ? r.json() : { items: [] }; }))
          .then(function (body) {
            if (asked !== text) { return; }
            list.textContent = "";
            body.items.forEach(function (a) {
              var item = el("li", { role: "option" });
              item.appendChild(el("a", { href: prefix + "/agency/" + a.agency_id }, a.name + " · " + a.state));
              list.appendChild(item);
            });
            list.hidden = body.items.length === 0;
          });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { list.hidden = true; }
      if (e.key === "ArrowDown" && !list.hidden && list.firstChild) { e.preventDefault(); list.querySelector("a").focus(); }
    });
    list.addEventListener("keydown", function (e) {
      var item = document.activeElement.parentNode;
      if (e.key === "ArrowDown" && item.nextSibling) { e.preventDefault(); item.nextSibling.firstChild.focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (item.previousSibling ? item.previousSibling.firstChild : input).focus(); }
      if (e.key === "Escape") { list.hidden = true; input.focus(); }
    });
  }

  // ---- the map ----
  var box = document.getElementById("map");
  var slider = document.getElementById("i");
  if (!box || !slider || !window.fetch || !box.dataset.geometry) { return; }
  var dates = slider.dataset.dates.split(",");
  var level = box.dataset.level;
  var dateLabel = document.getElementById("date-label");
  var figures = document.getElementById("map-figures");
  var legend = document.getElementById("map-legend");
  var info = document.getElementById("map-info");
  var source = document.getElementById("map-source");
  var show = document.getElementById("map-show");
  var frames = {};
  var svgNS = "http://www.w3.org/2000/svg";
  var svg, shapes = {}, pointsLayer, view = [0, 0, 960, 600], current = null;
  var fmt = window.Intl ? new Intl.DateTimeFormat(lang, { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }) : null;

  function nice(iso) { return fmt ? fmt.format(new Date(iso + "T00:00:00Z")) : iso; }

  function decode(topo) {
    var s = topo.transform.scale;
    var arcs = topo.arcs.map(function (arc) {
      var x = 0, y = 0;
      return arc.map(function (d) { x += d[0]; y += d[1]; return [x * s[0], y * s[1]]; });
    });
    function ring(indexes) {
      var pts = [];
      indexes.forEach(function (i) {
        var arc = i >= 0 ? arcs[i] : arcs[~i].slice().reverse();
        pts = pts.concat(pts.length ? arc.slice(1) : arc);
      });
      return "M" + pts.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join("L") + "Z";
    }
    function path(g) {
      var polys = g.type === "Polygon" ? [g.arcs] : g.arcs;
      return polys.map(function (poly) { return poly.map(ring).join(""); }).join("");
    }
    return { path: path };
  }

  // A pattern per legend class as a second cue beyond colour: plain, stripes, dots, cross-hatch.
  var NONE = "#f0f0f0";
  var PATTERNS = ["", "M0,6 L6,0", "M3,3 m-1.3,0 a1.3,1.3 0 1,0 2.6,0 a1.3,1.3 0 1,0 -2.6,0", "M0,6 L6,0 M0,0 L6,6"];
  var patternLayer;
  function patternDefs() {
    var defs = document.createElementNS(svgNS, "defs");
    PATTERNS.forEach(function (d, n) {
      if (!d) { return; }
      var pattern = document.createElementNS(svgNS, "pattern");
      pattern.setAttribute("id", "map-pattern-" + n);
      pattern.setAttribute("width", "6");
      pattern.setAttribute("height", "6");
      pattern.setAttribute("patternUnits", "userSpaceOnUse");
      var mark = document.createElementNS(svgNS, "path");
      mark.setAttribute("d", d);
      mark.setAttribute("stroke", "#fff");
      mark.setAttribute("stroke-width", "1.2");
      mark.setAttribute("fill", n === 2 ? "#fff" : "none");
      pattern.appendChild(mark);
      defs.appendChild(pattern);
    });
    return defs;
  }

  function setView() { svg.setAttribute("viewBox", view.join(" ")); }
  function zoom(factor, cx, cy) {
    var w = Math.min(960, Math.max(60, view[2] * factor)), h = w * 600 / 960;
    cx = cx === undefined ? view[0] + view[2] / 2 : cx;
    cy = cy === undefined ? view[1] + view[3] / 2 : cy;
    view = [cx - w / 2, cy - h / 2, w, h];
    setView();
  }
  function pan(dx, dy) { view[0] += dx * view[2]; view[1] += dy * view[3]; setView(); }

  function choose(fips, name) {
    var f = current || { labels: {} };
    info.textContent = "";
    info.appendChild(el("strong", {}, f.labels[fips] || name));
    var code = box.dataset["state" + fips.slice(0, 2)];
    if (code) {
      info.appendChild(document.createTextNode(" · "));
      info.appendChild(el("a", { href: prefix + "/state/" + code }, box.dataset.stateLink));
    }
    if (level === "county") {
      info.appendChild(document.createTextNode(" · "));
      info.appendChild(el("a", { href: prefix + "/search?q=" + encodeURIComponent(name + " " + (code || "")) }, box.dataset.countyLink));
    }
  }

  function draw(topo) {
    var geo = decode(topo);
    svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("class", "live-map");
    svg.setAttribute("role", "group");
    svg.setAttribute("aria-labelledby", "map-caption");
    svg.appendChild(patternDefs());
    var g = document.createElementNS(svgNS, "g");
    topo.objects[level === "state" ? "states" : "counties"].geometries.forEach(function (shape) {
      var p = document.createElementNS(svgNS, "path");
      p.setAttribute("d", geo.path(shape));
      p.setAttribute("data-fips", shape.id);
      p.setAttribute("fill", NONE);
      // Every shape is a stop of the keyboard (the skip link jumps past the map) and says
      // what it holds, as the mouse's tooltip does.
      p.setAttribute("tabindex", "0");
      p.setAttribute("role", "button");
      p.setAttribute("aria-label", shape.properties.name);
      var title = document.createElementNS(svgNS, "title");
      title.textContent = shape.properties.name;
      p.appendChild(title);
      shapes[shape.id] = { path: p, title: title, name: shape.properties.name };
      g.appendChild(p);
    });
    svg.appendChild(g);
    if (level === "county") {
      var borders = document.createElementNS(svgNS, "g");
      borders.setAttribute("class", "borders");
      topo.objects.states.geometries.forEach(function (shape) {
        var p = document.createElementNS(svgNS, "path");
        p.setAttribute("d", geo.path(shape));
        borders.appendChild(p);
      });
      svg.appendChild(borders);
    }
    patternLayer = document.createElementNS(svgNS, "g");
    patternLayer.setAttribute("class", "patterns");
    svg.appendChild(patternLayer);
    pointsLayer = document.createElementNS(svgNS, "g");
    pointsLayer.setAttribute("class", "points");
    svg.appendChild(pointsLayer);
    svg.addEventListener("click", function (e) {
      var agency = e.target.getAttribute && e.target.getAttribute("data-agency");
      if (agency) {
        info.textContent = "";
        info.appendChild(el("a", { href: prefix + "/agency/" + agency }, e.target.getAttribute("data-name")));
        return;
      }
      var fips = e.target.getAttribute && e.target.getAttribute("data-fips");
      if (fips) { choose(fips, shapes[fips].name); }
    });
    svg.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" && e.key !== " ") { return; }
      var agency = e.target.getAttribute && e.target.getAttribute("data-agency");
      var fips = e.target.getAttribute && e.target.getAttribute("data-fips");
      if (agency) {
        e.preventDefault();
        info.textContent = "";
        info.appendChild(el("a", { href: prefix + "/agency/" + agency }, e.target.getAttribute("data-name")));
      } else if (fips) { e.preventDefault(); choose(fips, shapes[fips].name); }
    });
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = svg.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 0.8 : 1.25, view[0] + (e.clientX - r.left) / r.width * view[2], view[1] + (e.clientY - r.top) / r.height * view[3]);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (e) { drag = [e.clientX, e.clientY]; });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("pointermove", function (e) {
      if (!drag || !(e.buttons & 1)) { return; }
      var r = svg.getBoundingClientRect();
      pan(-(e.clientX - drag[0]) / r.width, -(e.clientY - drag[1]) / r.height);
      drag = [e.clientX, e.clientY];
    });
    box.textContent = "";
    box.appendChild(svg);
    setView();
    document.getElementById("map-tools").hidden = false;
  }

  function paint(frame) {
    current = frame;
    var classOf = {};  // fill colour -> its place in the legend, which picks the pattern
    frame.legend.forEach(function (entry, n) { classOf[entry[0]] = n; });
    patternLayer.textContent = "";
    Object.keys(shapes).forEach(function (fips) {
      var s = shapes[fips], fill = frame.fills[fips] || NONE, cls = classOf[fill] % PATTERNS.length;
      s.path.setAttribute("fill", fill);
      s.title.textContent = frame.labels[fips] || s.name;
      s.path.setAttribute("aria-label", frame.labels[fips] || s.name + " · " + box.dataset.noneLabel);
      if (fill !== NONE && cls > 0) {
        var over = document.createElementNS(svgNS, "path");
        over.setAttribute("d", s.path.getAttribute("d"));
        over.setAttribute("fill", "url(#map-pattern-" + cls + ")");
        patternLayer.appendChild(over);
      }
    });
    pointsLayer.textContent = "";
    frame.points.forEach(function (pt) {
      var c = document.createElementNS(svgNS, "circle");
      c.setAttribute("cx", pt.x); c.setAttribute("cy", pt.y); c.setAttribute("r", 3);
      c.setAttribute("data-agency", pt.agency_id);
      c.setAttribute("tabindex", "0");
      c.setAttribute("role", "button");
      c.setAttribute("aria-label", pt.name + " (" + pt.models.join(", ") + ")");
      c.setAttribute("data-name", pt.name + " (" + pt.models.join(", ") + ")");
      var t = document.createElementNS(svgNS, "title");
      t.textContent = pt.name + " (" + pt.models.join(", ") + ")";
      c.appendChild(t);
      pointsLayer.appendChild(c);
    });
    legend.textContent = "";
    frame.legend.forEach(function (entry, n) {
      var item = el("li");
      var swatch = el("span", { "class": "swatch" + (entry[0] !== NONE ? " p" + (n % PATTERNS.length) : "") });
      swatch.style.backgroundColor = entry[0];  // CSSOM, allowed by the site's style-src 'self'
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(entry[1]));
      legend.appendChild(item);
    });
    if (frame.points.length) {
      var cities = el("li");
      cities.appendChild(el("span", { "class": "swatch point" }));
      cities.appendChild(document.createTextNode(box.dataset.pointsLabel));
      legend.appendChild(cities);
    }
    document.getElementById("map-caption").textContent = frame.title;
    figures.textContent = frame.figures;
    source.textContent = frame.source;
    box.setAttribute("data-date", frame.date);
  }

  function load(date) {
    dateLabel.textContent = nice(date);
    if (!frames[date]) {
      frames[date] = fetch(box.dataset.frames + date + ".json").then(function (r) { return r.json(); });
    }
    frames[date].then(function (frame) {
      if (dates[Number(slider.value)] === date) { paint(frame); }
    });
    var url = new URL(window.location.href);
    url.searchParams.delete("i");
    if (/\/map\/(county|state)\/?$/.test(url.pathname)) { url.searchParams.delete("level"); }
    else { url.searchParams.set("level", level); }
    url.searchParams.set("date", date);
    history.replaceState(null, "", url);
    ["county", "state"].forEach(function (name) {  // the other level keeps the date
      var link = document.getElementById("level-" + name);
      if (link) { link.href = prefix + "/map/" + name + (isStatic ? "/" : "") + "?date=" + date; }
    });
  }

  fetch(box.dataset.geometry).then(function (r) { return r.json(); }).then(function (topo) {
    draw(topo);
    if (show) { show.hidden = true; }
    slider.addEventListener("input", function () { load(dates[Number(slider.value)]); });
    document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.66); });
    document.getElementById("zoom-out").addEventListener("click", function () { zoom(1.5); });
    document.getElementById("zoom-reset").addEventListener("click", function () { view = [0, 0, 960, 600]; setView(); });
    box.addEventListener("keydown", function (e) {
      var moves = { ArrowLeft: [-0.1, 0], ArrowRight: [0.1, 0], ArrowUp: [0, -0.1], ArrowDown: [0, 0.1] };
      if (e.target === box && moves[e.key]) { e.preventDefault(); pan(moves[e.key][0], moves[e.key][1]); }
      if (e.target === box && (e.key === "+" || e.key === "=")) { zoom(0.66); }
      if (e.target === box && e.key === "-") { zoom(1.5); }
    });
    var day = params.get("date");  // a permalink: the sheet in force on that day
    if (day && /^\d{4}-\d{2}-\d{2}$/.test(day) && day >= dates[0]) {
      var at = 0;
      dates.forEach(function (d, n) { if (d <= day) { at = n; } });
      slider.value = String(at);
    }
    load(dates[Number(slider.value)]);
  });
})();
