/* The national map: asks the server for the features of the current view only (clusters,
   points or simplified polygons by zoom level), so it stays fast at national scale. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("map-config").textContent);
  var t = JSON.parse(document.getElementById("map-i18n").textContent);
  var C = cfg.colours;
  var numFmt = function (v, digits) {
    return new Intl.NumberFormat(t.lang, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  };
  function area(m2) {
    var a = Math.abs(m2);
    if (a < 1e4) return numFmt(m2, 0) + "\u00a0" + t.m2;
    if (a < 1e6) { var ha = m2 / 1e4; return numFmt(ha, Math.abs(ha) < 100 ? 1 : 0) + "\u00a0" + t.ha; }
    var km = m2 / 1e6; return numFmt(km, Math.abs(km) < 100 ? 2 : 0) + "\u00a0" + t.km2;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(template, n) { return template.replace("{n}", numFmt(n, 0)); }

  var el = document.getElementById("map");
  var map = L.map(el, { preferCanvas: true, zoomControl: true, minZoom: 3, maxZoom: 19 });
  var ext = cfg.extent || [30, 44, 40, 53];
  map.fitBounds([[ext[1], ext[0]], [ext[3], ext[2]]], { padding: [20, 20] });
  map.attributionControl.setPrefix("Leaflet");
  L.control.scale({ imperial: false }).addTo(map);
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 19, attribution: "" }).addTo(map);
  }

  // --- offline basemap from our own location table ----------------------------------------
  var basemap = L.geoJSON(null, {
    style: function (f) {
      return { color: "#7b8794", weight: f.properties.level <= 1 ? 1.6 : 0.7,
               dashArray: f.properties.level <= 1 ? null : "3 3", fill: false, interactive: false };
    },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, { radius: 2.5, color: "#52606d", weight: 1, fillOpacity: 0.8,
                                      interactive: false });
    },
  });
  var labels = L.layerGroup();
  var settlements = [];
  fetch("/map/basemap.json", { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (data) {
      basemap.addData(data);
      data.features.forEach(function (f) {
        if (f.properties.kind === "settlement") settlements.push(f);
      });
      drawLabels();
    }).catch(function () { /* the basemap is optional */ });
  function drawLabels() {
    labels.clearLayers();
    if (map.getZoom() < 9 || !document.getElementById("l-basemap").checked) return;
    var b = map.getBounds();
    settlements.forEach(function (f) {
      var c = f.geometry.coordinates, ll = L.latLng(c[1], c[0]);
      if (b.contains(ll)) {
        labels.addLayer(L.marker(ll, { icon: L.divIcon({ className: "place-label", html: esc(f.properties.name),
          iconSize: null }), interactive: false, keyboard: false }));
      }
    });
  }

  // --- hazards ----------------------------------------------------------------------------
  var hazards = L.layerGroup().addTo(map);
  var finds = L.layerGroup().addTo(map);
  var statusEl = document.getElementById("map-status");
  var form = document.getElementById("map-filters");
  var controller = null, findsController = null;

  function hazardStyle(p) {
    var col = C[p.cls] || "#555";
    var closed = p.st === "closed" || p.st === "handed_over";
    return { color: closed ? "#616e7c" : col, weight: 1.5, fillColor: col,
             fillOpacity: closed ? 0.05 : (p.st === "worked_on" ? 0.3 : 0.45),
             dashArray: closed ? "4 3" : null };
  }
  function popup(p) {
    return "<div class=\"popup\"><strong>" + esc(p.id) + "</strong>" + (p.name ? " " + esc(p.name) : "") +
      "<br>" + esc(t.classes[p.cls] || p.cls) + " · " + esc(t.statuses[p.st] || p.st) +
      "<br>" + esc(t.remaining) + ": " + area(p.m2) +
      "<br>" + esc(t.organisation) + ": " + esc(p.org) +
      "<br><a href=\"/hazards/" + encodeURIComponent(p.id) + "\">" + esc(t.open) + " →</a></div>";
  }
  function params() {
    var b = map.getBounds();
    var q = new URLSearchParams();
    q.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(","));
    q.set("zoom", map.getZoom());
    new FormData(form).forEach(function (v, k) { if (v) q.set(k, v); });
    return q;
  }
  var first = true;
  function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    el.setAttribute("aria-busy", "true");
    statusEl.textContent = t.loading;
    if (!document.getElementById("l-hazards").checked) {
      hazards.clearLayers(); done(0, "off"); return;
    }
    fetch("/map/hazards.json?" + params().toString(), { signal: controller.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(draw)
      .catch(function (e) { if (e.name !== "AbortError") { statusEl.textContent = t.failed; el.setAttribute("aria-busy", "false"); } });
    loadFinds();
  }
  function draw(data) {
    hazards.clearLayers();
    var showReleased = document.getElementById("l-released").checked;
    if (data.mode === "clusters") {
      data.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var size = Math.round(22 + 9 * Math.log10(p.n + 1));
        var cha = p.cha / p.n;
        var m = L.marker([c[1], c[0]], {
          icon: L.divIcon({ className: "cluster" + (cha >= 0.5 ? " cha" : " sha"), iconSize: [size, size],
                            html: "<span>" + numFmt(p.n, 0) + "</span>" }),
          title: numFmt(p.n, 0) + " " + t.hazards + " · " + area(p.m2), keyboard: true,
        });
        m.on("click", function () { map.setView(m.getLatLng(), Math.min(map.getZoom() + 2, 18)); });
        hazards.addLayer(m);
      });
    } else if (data.mode === "points") {
      data.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        var s = hazardStyle(p);
        var m = L.circleMarker([c[1], c[0]], { radius: 5, color: s.color, weight: 1, fillColor: s.fillColor,
                                               fillOpacity: s.fillOpacity > 0.1 ? 0.85 : 0.2 });
        m.bindPopup(function () { return popup(p); });
        hazards.addLayer(m);
      });
    } else {
      var outlines = [], parts = [];
      data.features.forEach(function (f) { (f.properties.part === "hazard" ? outlines : parts).push(f); });
      if (showReleased) {
        hazards.addLayer(L.geoJSON({ type: "FeatureCollection", features: parts }, {
          style: function (f) { return { stroke: false, fillColor: C[f.properties.part], fillOpacity: 0.75 }; },
          interactive: false,
        }));
      }
      hazards.addLayer(L.geoJSON({ type: "FeatureCollection", features: outlines }, {
        style: function (f) { var s = hazardStyle(f.properties); if (showReleased) s.fillOpacity *= 0.6; return s; },
        onEachFeature: function (f, layer) { layer.bindPopup(function () { return popup(f.properties); }); },
      }));
    }
    done(data.count, data.mode);
  }
  function done(count, mode) {
    statusEl.textContent = fmt(mode === "clusters" ? t.clusters : t.shown, count);
    el.setAttribute("aria-busy", "false");
    el.dataset.mode = mode;
    el.dataset.count = count;
    el.dataset.loads = String((Number(el.dataset.loads) || 0) + 1);
    if (first) {
      first = false;
      performance.mark("map-interactive");
      window.mapInteractive = performance.now();
      el.dataset.ready = "1";
    }
  }

  // --- EO finds and accidents -------------------------------------------------------------
  function loadFinds() {
    finds.clearLayers();
    if (!document.getElementById("l-finds").checked || map.getZoom() < cfg.detailZoom) return;
    if (findsController) findsController.abort();
    findsController = new AbortController();
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); }).join(",");
    fetch("/map/finds.json?bbox=" + bbox, { signal: findsController.signal, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        data.features.forEach(function (f) {
          var p = f.properties, c = f.geometry.coordinates, acc = p.kind === "accident";
          var m = L.circleMarker([c[1], c[0]], { radius: acc ? 7 : 4, color: acc ? "#111" : "#5b2c6f", weight: acc ? 2 : 1,
                                                 fillColor: acc ? "#fff200" : "#9b59b6", fillOpacity: 0.9 });
          m.bindPopup(acc
            ? "<strong>" + esc(t.accident) + " " + esc(p.id) + "</strong><br>" + esc(p.date) + " · " + esc(p.cat) +
              "<br>" + p.killed + " " + esc(t.killed) + ", " + p.injured + " " + esc(t.injured)
            : "<strong>" + esc(t.eoFind) + "</strong><br>" + esc(p.date) + " · " + esc(p.cat) + " × " + p.q +
              (p.hazard ? "<br><a href=\"/hazards/" + encodeURIComponent(p.hazard) + "\">" + esc(p.hazard) + " →</a>" : ""));
          finds.addLayer(m);
        });
      }).catch(function () {});
  }

  // --- wiring -----------------------------------------------------------------------------
  var timer = null;
  function schedule() { clearTimeout(timer); timer = setTimeout(load, 120); }
  map.on("moveend", function () { schedule(); drawLabels(); });
  form.addEventListener("change", schedule);
  form.addEventListener("reset", function () { setTimeout(schedule, 0); });
  document.getElementById("l-basemap").addEventListener("change", function (e) {
    if (e.target.checked) { basemap.addTo(map); labels.addTo(map); } else { map.removeLayer(basemap); map.removeLayer(labels); }
    drawLabels();
  });
  basemap.addTo(map);
  labels.addTo(map);
  window.mineactionMap = map;
  load();
})();
