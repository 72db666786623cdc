/* servicegrid map runtime: decodes the compact layers written by servicegrid.maps, draws them
 * with Leaflet, and adds the controls that need no CDN: a search box, a measuring tool, a legend
 * that follows the visible layers. Written for Leaflet 1.9 (inlined before this script). */
var SG = (function () {
  "use strict";
  var sources = {}, decoded = {}, layers = {}, order = [], words = {}, searchable = [], pending = [], labelled = [];

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function num(value, digits) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString(words._locale || "zh-CN", { maximumFractionDigits: digits || 0 });
  }
  function pct(value) {
    return value === null || value === undefined ? "–" : Math.round(value * 1000) / 10 + "%";
  }
  function metres(value) {
    if (value === null || value === undefined) return "–";
    return num(value) + " " + words.m;
  }

  // -- geometry -------------------------------------------------------------------------------
  function decodeChains(data, depth, decimals) {
    // depth 3: features > polygons > rings; depth 2: features > parts. Each ring a string of
    // steps in the encoded polyline algorithm's characters (x then y, 10^-decimals degree),
    // one running x, y through the whole source.
    var x = 0, y = 0, unit = Math.pow(10, decimals);
    function next(s, at) {
      var result = 0, shift = 0, b;
      do { b = s.charCodeAt(at.i++) - 63; result |= (b & 31) << shift; shift += 5; } while (b >= 32);
      return result & 1 ? ~(result >> 1) : result >> 1;
    }
    function chain(s) {
      var out = [], at = { i: 0 };
      while (at.i < s.length) {
        x += next(s, at); y += next(s, at);
        out.push([y / unit, x / unit]);
      }
      return out;
    }
    return data.map(function (feature) {
      return feature.map(function (part) {
        return depth === 3 ? part.map(chain) : chain(part);
      });
    });
  }
  function geometry(key) {
    if (!decoded[key]) {
      var src = sources[key];
      decoded[key] = src.kind === "point" ? src.data : decodeChains(src.data, src.kind === "polygon" ? 3 : 2, src.decimals);
      delete src.data;
    }
    return decoded[key];
  }
  function source(key, kind, data, decimals) { sources[key] = { kind: kind, data: data, decimals: decimals }; }

  // -- styles ---------------------------------------------------------------------------------
  function rampColour(ramp, value) {
    if (value === null || value === undefined) return null;
    for (var i = 0; i < ramp.breaks.length; i++) if (value < ramp.breaks[i]) return ramp.colors[i];
    return ramp.colors[ramp.colors.length - 1];
  }
  function baseStyle(style) {
    var out = {};
    for (var k in style) if (["ramp", "classes", "colors", "tier"].indexOf(k) < 0) out[k] = style[k];
    return out;
  }

  // -- tooltips and popups --------------------------------------------------------------------
  function row(layer) { return layer.sgRow; }
  function line(label, value) { return "<div><b>" + esc(label) + "</b> " + value + "</div>"; }
  var tooltips = {
    boundary: function (p) {
      return "<b>" + esc(p.name) + "</b>" + (p.households ? " · " + num(p.households) + " " + words.households : "");
    },
    choropleth: function (p, spec) {
      return "<b>" + esc(p.name) + "</b><br>" + esc(words.coverage_rate) + " " + pct(p.rate) + " (" +
        num(p.households_covered) + " / " + num(p.households) + " " + esc(words.households) + ")<br>" +
        "<span class='sg-dim'>" + esc(spec.style.tier || "") + "</span>";
    },
    unit: function (p, spec) {
      var cls = p.cls === null || p.cls === undefined ? null : words[["doorstep", "within", "beyond", "unreachable"][p.cls]];
      var out = "<b>" + esc(p.name) + "</b> · " + num(p.households) + " " + esc(words.households);
      if (p.facility) out += "<br>" + esc(words.served_by) + "：" + esc(p.facility);
      if (p.walk_m !== null && p.walk_m !== undefined)
        out += "<br>" + esc(words.walk) + " " + metres(p.walk_m) + "（" + esc(words.straight) + " " + metres(p.straight_m) + "）";
      if (cls) out += "<br><span class='sg-dim'>" + esc(cls) + " · " + esc(spec.style.tier || "") + "</span>";
      return out;
    },
    area: function (p) { return "<b>" + esc(p.name) + "</b> · " + num(p.area_ha, 1) + " ha"; },
    gap: function (p) {
      var out = "<b>" + esc(p.name) + "</b> · " + num(p.households) + " " + esc(words.households);
      if (p.walk_m !== null) out += "<br>" + esc(words.walk) + " " + metres(p.walk_m) + (p.facility ? " → " + esc(p.facility) : "");
      if (p.to_go_m !== null) out += "<br><b class='sg-warn'>" + esc(words.to_go) + " " + metres(p.to_go_m) + "</b>";
      return out;
    },
    before_after: function (p) {
      return "<b>" + esc(p.name) + "</b><br>" + esc(words.before_after) + "：" + pct(p.rate_before) + " → " +
        pct(p.rate_after) + "<br>" + num(p.households_before) + " → " + num(p.households_after) + " / " +
        num(p.households) + " " + esc(words.households);
    },
    facility: function (p) { return "<b>" + esc(p.name) + "</b><br><span class='sg-dim'>" + esc(p.tier) + "</span>"; },
    site: function (p) {
      return "<b>" + esc(p.order) + ". " + esc(p.name) + "</b> · " + esc(words[p.kind] || p.kind);
    }
  };
  var popups = {
    facility: function (p) {
      var grade = p.grade ? "<span class='sg-grade sg-" + esc(p.cls) + "'>" + esc(p.grade) + "</span>" : esc(words.no_grade);
      var out = "<div class='sg-popup'><h4>" + esc(p.name) + "</h4>" + line(words.tier, esc(p.tier)) + line(words.grade, grade);
      if (p.status) out += line(words.status, esc(p.status));
      if (p.stars !== null) out += line(words.stars, "★".repeat(Math.max(0, Math.min(10, p.stars))) + " " + num(p.stars));
      if (p.score !== null) out += line(words.score, num(p.score, 1));
      if (p.area !== null) {
        var short = p.area_min !== null && p.area < p.area_min;
        out += line(words.floor_area, "<span class='" + (short ? "sg-warn" : "") + "'>" + num(p.area) + " m²</span>" +
          (p.area_min !== null ? " / " + esc(words.minimum) + " " + num(p.area_min) + " m²" : ""));
      }
      var lacks = [["missing_items", p.missing], ["missing_windows", p.windows], ["missing_zones", p.zones],
        ["missing_rooms", p.rooms], ["hours_problem", p.hours]].filter(function (x) { return x[1]; });
      if (lacks.length) lacks.forEach(function (x) { out += line(words[x[0]], "<span class='sg-warn'>" + esc(x[1]) + "</span>"); });
      else if (p.grade) out += line(words.missing_items, esc(words.nothing_missing));
      return out + "</div>";
    },
    site: function (p) {
      return "<div class='sg-popup'><h4>" + esc(p.order) + ". " + esc(p.name) + "</h4>" +
        line(words.build_order, esc(p.order) + " · " + esc(words[p.kind] || p.kind)) +
        line(words.cost, num(p.cost) + " " + esc(words.yuan)) +
        line(words.households_new, num(p.households_new)) +
        line(words.households_served, num(p.households_served)) + "</div>";
    }
  };

  // -- layers ---------------------------------------------------------------------------------
  function props(spec, values) {
    var p = {};
    for (var i = 0; i < spec.keys.length; i++) p[spec.keys[i]] = values[i];
    return p;
  }
  function draw(spec, shape, p) {
    var style = spec.style, base = baseStyle(style);
    if (spec.kind === "facility") {
      base.radius = p.r;
      base.fillColor = style.colors[p.cls] || style.colors.none;
      return L.circleMarker(shape, base);
    }
    if (spec.kind === "site") {
      var icon = L.divIcon({ className: "sg-site sg-site-" + p.kind, html: "<span>" + esc(p.order) + "</span>", iconSize: [20, 20] });
      return L.marker(shape, { icon: icon, riseOnHover: true, keyboard: false });
    }
    if (spec.kind === "paths") return L.polyline(shape, base);
    if (style.ramp) base.fillColor = rampColour(style.ramp, p[style.ramp.key]) || "#bdbdbd";
    if (style.classes) {
      var c = p[style.classes.key];
      base.fillColor = c === null || c === undefined ? style.classes.none : style.classes.colors[c];
    }
    return L.polygon(shape, base);
  }
  function layer(group, spec) {
    // Layers shown at first are drawn at once; the others right after the first frame, or as
    // soon as they are switched on, whichever comes first.
    var entry = { group: group, name: spec.name, count: spec.rows.length, kind: spec.kind, source: spec.source, built: false };
    entry.build = function () { if (!entry.built) { entry.built = true; build(group, spec); } };
    layers[spec.key] = entry;
    order.push(spec.key);
    if (spec.show) entry.build();
    else { pending.push(entry.build); group.once("add", entry.build); }
  }
  function build(group, spec) {
    var shapes = geometry(spec.source), index = spec.index, made = [];
    for (var i = 0; i < spec.rows.length; i++) {
      var shape = shapes[index ? index[i] : i];
      var feature = draw(spec, shape, props(spec, spec.rows[i]));
      feature.sgRow = spec.rows[i];
      group.addLayer(feature);
      made.push(feature);
      if (spec.labels) {
        var p = props(spec, spec.rows[i]);
        feature.bindTooltip(esc(p.name), { permanent: true, direction: "center", className: "sg-label", interactive: false });
        labelled.push(feature);
      }
      if (spec.search) searchable.push({ name: String(spec.rows[i][0] || ""), spec: spec, feature: feature, group: group });
    }
    var tip = tooltips[spec.kind], pop = popups[spec.kind];
    if (tip && !spec.labels) {
      group.bindTooltip(function (l) { return tip(props(spec, l.sgRow), spec); },
        { sticky: spec.kind !== "facility" && spec.kind !== "site", direction: "top", className: "sg-tip" });
    }
    if (pop) group.bindPopup(function (l) { return pop(props(spec, l.sgRow), spec); }, { maxWidth: 320 });
    if (spec.kind === "unit" || spec.kind === "facility" || spec.kind === "choropleth") {
      group.on("mouseover", function (e) { if (e.layer.setStyle) e.layer.setStyle({ weight: (spec.style.weight || 1) + 1.5, color: "#000" }); });
      group.on("mouseout", function (e) { if (e.layer.setStyle) e.layer.setStyle({ weight: spec.style.weight, color: spec.style.color }); });
    }
  }

  // -- legend follows the visible layers --------------------------------------------------------
  function legend(map) {
    var box = document.querySelector(".sg-legend");
    if (!box) return;
    var head = box.querySelector(".sg-legend-head");
    if (head) head.addEventListener("click", function () { box.classList.toggle("sg-collapsed"); });
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    function update() {
      box.querySelectorAll("[data-layers]").forEach(function (section) {
        var keys = section.getAttribute("data-layers").split(" ");
        var on = keys.some(function (k) { return layers[k] && map.hasLayer(layers[k].group); });
        section.style.display = on ? "" : "none";
      });
    }
    map.on("overlayadd overlayremove layeradd layerremove", update);
    update();
  }

  // -- search box -------------------------------------------------------------------------------
  var Search = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function (map) {
      var box = L.DomUtil.create("div", "sg-search leaflet-bar");
      var input = L.DomUtil.create("input", "", box);
      input.type = "search"; input.placeholder = words.search; input.setAttribute("aria-label", words.search);
      var list = L.DomUtil.create("ul", "sg-results", box);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      function choose(hit) {
        if (!map.hasLayer(hit.group)) map.addLayer(hit.group);
        var f = hit.feature;
        if (f.getBounds) map.fitBounds(f.getBounds(), { maxZoom: 17, padding: [40, 40] });
        else map.setView(f.getLatLng(), Math.max(map.getZoom(), 16));
        setTimeout(function () {
          var at = f.getLatLng ? f.getLatLng() : f.getBounds().getCenter();
          // as if the feature were clicked (popup) or pointed at (tooltip)
          f.fire(popups[hit.spec.kind] ? "click" : "mouseover", { latlng: at }, true);
          if (f.setStyle && !f.getLatLng) {
            f.setStyle({ weight: 5, color: "#00bcd4" });
            setTimeout(function () { f.setStyle({ weight: hit.spec.style.weight, color: hit.spec.style.color }); }, 2500);
          }
        }, 50);
        list.innerHTML = ""; input.value = hit.name;
      }
      function find() {
        var q = input.value.trim().toLowerCase();
        list.innerHTML = "";
        if (!q) return;
        var hits = searchable.filter(function (h) { return h.name.toLowerCase().indexOf(q) >= 0; });
        hits.sort(function (a, b) { return a.name.toLowerCase().indexOf(q) - b.name.toLowerCase().indexOf(q) || a.name.length - b.name.length; });
        if (!hits.length) { L.DomUtil.create("li", "sg-none", list).textContent = words.no_match; return; }
        hits.slice(0, 12).forEach(function (hit) {
          var li = L.DomUtil.create("li", "", list);
          li.innerHTML = esc(hit.name) + " <span class='sg-dim'>" + esc(words[hit.spec.source] || hit.spec.source) + "</span>";
          L.DomEvent.on(li, "click", function () { choose(hit); });
        });
      }
      L.DomEvent.on(input, "input", find);
      L.DomEvent.on(input, "keydown", function (e) {
        if (e.key === "Enter") { var first = list.querySelector("li:not(.sg-none)"); if (first) first.click(); }
        if (e.key === "Escape") { list.innerHTML = ""; input.value = ""; }
      });
      return box;
    }
  });

  // -- measuring tool ---------------------------------------------------------------------------
  function distanceText(m) {
    return m < 1000 ? Math.round(m) + " " + words.m : (m / 1000).toFixed(2) + " " + words.km;
  }
  var Measure = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function (map) {
      var bar = L.DomUtil.create("div", "sg-measure leaflet-bar");
      var button = L.DomUtil.create("a", "", bar);
      button.href = "#"; button.textContent = words.measure; button.title = words.measure_hint;
      button.setAttribute("role", "button");
      var active = false, points = [], line = null, rubber = null, group = L.layerGroup().addTo(map);
      function total(extra) {
        var all = extra ? points.concat([extra]) : points, sum = 0;
        for (var i = 1; i < all.length; i++) sum += map.distance(all[i - 1], all[i]);
        return sum;
      }
      function label(at, text) {
        L.tooltip({ permanent: true, direction: "right", className: "sg-measure-label" }).setLatLng(at).setContent(text).addTo(group);
      }
      function click(e) {
        points.push(e.latlng);
        L.circleMarker(e.latlng, { radius: 3, color: "#000", weight: 1, fillColor: "#fff", fillOpacity: 1, interactive: false }).addTo(group);
        if (!line) line = L.polyline(points, { color: "#000", weight: 2, dashArray: "6 4", interactive: false }).addTo(group);
        else line.setLatLngs(points);
        if (points.length > 1) label(e.latlng, distanceText(total()));
      }
      function move(e) {
        if (!points.length) return;
        var last = points[points.length - 1];
        if (!rubber) rubber = L.polyline([last, e.latlng], { color: "#000", weight: 1, opacity: 0.5, interactive: false }).addTo(group);
        else rubber.setLatLngs([last, e.latlng]);
        button.textContent = distanceText(total(e.latlng));
      }
      function stop(clear) {
        active = false; L.DomUtil.removeClass(map.getContainer(), "sg-measuring"); L.DomUtil.removeClass(button, "sg-on");
        map.off("click", click); map.off("mousemove", move); map.off("dblclick", finish);
        map.doubleClickZoom.enable();
        if (rubber) { group.removeLayer(rubber); rubber = null; }
        if (clear) group.clearLayers();
        points = []; line = null; button.textContent = words.measure;
      }
      function finish(e) { if (e) L.DomEvent.stop(e); stop(false); }
      function start() {
        group.clearLayers(); active = true; points = []; line = null;
        L.DomUtil.addClass(map.getContainer(), "sg-measuring"); L.DomUtil.addClass(button, "sg-on");
        map.doubleClickZoom.disable();
        map.on("click", click); map.on("mousemove", move); map.on("dblclick", finish);
      }
      L.DomEvent.on(button, "click", function (e) { L.DomEvent.stop(e); if (active) stop(false); else start(); });
      L.DomEvent.disableClickPropagation(bar);
      document.addEventListener("keydown", function (e) { if (e.key === "Escape") stop(true); });
      this._measure = { start: start, stop: stop, total: function () { return total(); } };
      return bar;
    }
  });

  function init(map, options) {
    words = options.words || {};
    words._locale = options.lang === "en" ? "en-US" : "zh-CN";
    if (options.bounds) {
      // leave room for the title above and the layer control and legend on the right
      var wide = map.getSize().x > 1100;
      map.fitBounds(options.bounds, { paddingTopLeft: [50, 70], paddingBottomRight: [wide ? 360 : 20, 20], animate: false });
    }
  }
  // far out, the plan's numbered boxes shrink to dots and small townships' names give way
  function followZoom(map) {
    function update() {
      var far = map.getZoom() < 14;
      L.DomUtil[far ? "addClass" : "removeClass"](map.getContainer(), "sg-far");
      labelled.forEach(function (f) {
        var b = f.getBounds(), a = map.latLngToContainerPoint(b.getNorthWest()), z = map.latLngToContainerPoint(b.getSouthEast());
        var el = f.getTooltip() && f.getTooltip().getElement();
        if (el) el.style.visibility = Math.abs(z.x - a.x) > 110 ? "" : "hidden";
      });
    }
    map.on("zoomend", update);
    update();
  }
  function controls(map, options) {
    followZoom(map);
    if (options.search) new Search().addTo(map);
    if (options.measure) map.sgMeasure = new Measure().addTo(map);
    legend(map);
    window.servicegrid = { map: map, layers: layers, order: order };
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        window.servicegrid.rendered = performance.now();
        (function drain() {
          var next = pending.shift();
          if (next) { next(); setTimeout(drain, 0); }
          else window.servicegrid.complete = performance.now();
        })();
      });
    });
  }
  return { init: init, source: source, layer: layer, controls: controls, layers: layers };
})();
