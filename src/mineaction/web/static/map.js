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
  var dayFmt = new Intl.DateTimeFormat(t.lang, { year: "numeric", month: "short", day: "numeric" });
  function day(iso) {  // a date of the records (YYYY-MM-DD) in the page's language
    var d = new Date(String(iso) + "T00:00:00");
    return isNaN(d) ? String(iso || "") : dayFmt.format(d);
  }

  var el = document.getElementById("map");
  var map = L.map(el, { preferCanvas: true, zoomControl: false, minZoom: 3, maxZoom: 19 });
  L.control.zoom({ zoomInTitle: t.zoomInTitle, zoomOutTitle: t.zoomOutTitle }).addTo(map);
  map.on("popupopen", function (e) {  // Leaflet names its close button in English
    var b = e.popup.getElement() && e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (b) b.setAttribute("aria-label", t.closePopup);
  });
  var ext = cfg.extent || [30, 44, 40, 53];
  map.fitBounds([[ext[1], ext[0]], [ext[3], ext[2]]], { padding: [20, 20] });
  map.attributionControl.setPrefix("Leaflet");
  var scale = L.control.scale({ imperial: false });
  scale._updateMetric = function (maxMeters) {  // Leaflet writes "m" and "km" in English
    var m = this._getRoundNum(maxMeters);
    this._updateScale(this._mScale, m < 1000 ? m + " " + t.scaleM : m / 1000 + " " + t.scaleKm, m / maxMeters);
  };
  scale.addTo(map);
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
  var controller = null, findsController = null, activitiesController = null;

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
      hazards.clearLayers(); done(0, "off"); loadFinds(); loadActivities(); return;
    }
    fetch("/map/hazards.json?" + params().toString(), { signal: controller.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(draw)
      .catch(function (e) { if (e.name !== "AbortError") { statusEl.textContent = t.failed; el.setAttribute("aria-busy", "false"); } });
    loadFinds();
    loadActivities();
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

  // --- overlays: EO finds, accidents, activities (points, or server-side clusters) ----------
  var activities = L.layerGroup().addTo(map);
  // own panes, so that finds are drawn above activities and activities above hazards
  map.createPane("activities").style.zIndex = 420;
  map.createPane("finds").style.zIndex = 440;
  var AC = cfg.activityColours || {};
  function overlayParams() {
    var q = params();
    ["status", "class"].forEach(function (k) { q.delete(k); });
    return q;
  }
  function clusterMarker(f, cls, label) {
    var p = f.properties, c = f.geometry.coordinates;
    var size = Math.round(18 + 7 * Math.log10(p.n + 1));
    var m = L.marker([c[1], c[0]], {
      icon: L.divIcon({ className: "cluster " + cls, iconSize: [size, size], html: "<span>" + numFmt(p.n, 0) + "</span>" }),
      title: fmt(label, p.n) + " · " + t.zoomIn, keyboard: true,
    });
    m.on("click", function () { map.setView(m.getLatLng(), Math.min(map.getZoom() + 2, 18)); });
    return m;
  }
  function findPopup(p) {
    var acc = p.kind === "accident";
    return acc
      ? "<div class=\"popup\"><strong>" + esc(t.accident) + " " + esc(p.id) + "</strong><br>" + esc(day(p.date)) + " · " + esc(t.categories[p.cat] || p.cat) +
        "<br>" + p.killed + " " + esc(t.killed) + ", " + p.injured + " " + esc(t.injured) +
        (p.hazard ? "<br><a href=\"/hazards/" + encodeURIComponent(p.hazard) + "\">" + esc(p.hazard) + " →</a>" : "") + "</div>"
      : "<div class=\"popup\"><strong>" + esc(t.eoFind) + "</strong><br>" + esc(day(p.date)) + " · " + esc(t.categories[p.cat] || p.cat) + " × " + p.q +
        "<br>" + esc(t.organisation) + ": " + esc(p.org) +
        (p.hazard ? "<br><a href=\"/hazards/" + encodeURIComponent(p.hazard) + "\">" + esc(p.hazard) + " →</a>" : "") + "</div>";
  }
  function loadFinds() {
    if (findsController) findsController.abort();
    if (!document.getElementById("l-finds").checked) { finds.clearLayers(); el.dataset.finds = ""; return; }
    findsController = new AbortController();
    fetch("/map/finds.json?" + overlayParams().toString(), { signal: findsController.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        finds.clearLayers();
        data.features.forEach(function (f) {
          var p = f.properties, c = f.geometry.coordinates;
          if (p.kind === "eo-cluster") { finds.addLayer(clusterMarker(f, "eo", t.nFinds)); return; }
          if (p.kind === "accident-cluster") { finds.addLayer(clusterMarker(f, "accident", t.nAccidents)); return; }
          var acc = p.kind === "accident";
          var m = L.circleMarker([c[1], c[0]], { radius: acc ? 7 : 4, color: acc ? "#111" : "#5b2c6f", weight: acc ? 2 : 1,
                                                 fillColor: acc ? "#fff200" : "#9b59b6", fillOpacity: 0.9, pane: "finds" });
          m.bindPopup(function () { return findPopup(p); });
          finds.addLayer(m);
        });
        el.dataset.finds = String(data.count);
        el.dataset.findsDrawn = String(data.features.length);
        el.dataset.findsMode = (data.modes && data.modes.eo) || "";
      }).catch(function () {});
  }
  function activityPopup(p) {
    return "<div class=\"popup\"><strong>" + esc(t.types[p.type] || p.type) + "</strong> · " + esc(t.stages[p.stage] || p.stage) +
      "<br>" + esc(t.report) + ": " + esc(p.id) +
      "<br>" + esc(t.organisation) + ": " + esc(p.org) +
      "<br>" + esc(t.dates) + ": " + esc(day(p.start)) + " – " + esc(day(p.end)) +
      (p.m2 > 0 ? "<br>" + esc(t.released) + ": " + area(p.m2) : "") +
      "<br><a href=\"/hazards/" + encodeURIComponent(p.hazard) + "#report-" + encodeURIComponent(p.id) + "\">" +
      esc(t.openReport) + " →</a></div>";
  }
  function loadActivities() {
    if (activitiesController) activitiesController.abort();
    if (!document.getElementById("l-activities").checked) { activities.clearLayers(); el.dataset.activities = ""; return; }
    activitiesController = new AbortController();
    fetch("/map/activities.json?" + overlayParams().toString(), { signal: activitiesController.signal, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        activities.clearLayers();
        if (data.mode === "clusters") {
          data.features.forEach(function (f) { activities.addLayer(clusterMarker(f, "act", t.nActivities)); });
        } else {
          activities.addLayer(L.geoJSON(data, {
            pane: "activities",
            style: function (f) { var col = AC[f.properties.type] || "#333";
              return { color: col, weight: 2, fillColor: col, fillOpacity: 0.25, dashArray: "5 3" }; },
            pointToLayer: function (f, latlng) {
              var col = AC[f.properties.type] || "#333";
              return L.marker(latlng, { icon: L.divIcon({ className: "act-marker", iconSize: [12, 12],
                html: "<span style=\"background:" + col + "\"></span>" }), keyboard: true,
                title: (t.types[f.properties.type] || f.properties.type) + " " + f.properties.id });
            },
            onEachFeature: function (f, layer) { layer.bindPopup(function () { return activityPopup(f.properties); }); },
          }));
        }
        el.dataset.activities = String(data.count);
        el.dataset.activitiesDrawn = String(data.features.length);
        el.dataset.activitiesMode = data.mode;
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
