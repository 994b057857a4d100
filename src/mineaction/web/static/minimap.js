/* A small map of one hazard or one report: outline, remaining and released parts, proposals. */
(function () {
  "use strict";
  var el = document.getElementById("minimap");
  if (!el) return;
  var data = JSON.parse(document.getElementById("minimap-data").textContent);
  var C = JSON.parse(document.getElementById("minimap-colours").textContent);
  var map = L.map(el, { preferCanvas: false, scrollWheelZoom: false, zoomControl: false });
  L.control.zoom({ zoomInTitle: el.dataset.zoomIn || "Zoom in", zoomOutTitle: el.dataset.zoomOut || "Zoom out" }).addTo(map);
  var styles = {
    hazard: { color: "#1f2933", weight: 2, fill: false },
    remaining: { stroke: false, fillColor: C.remaining, fillOpacity: 0.35 },
    cancelled: { stroke: false, fillColor: C.cancelled, fillOpacity: 0.7 },
    reduced: { stroke: false, fillColor: C.reduced, fillOpacity: 0.7 },
    cleared: { stroke: false, fillColor: C.cleared, fillOpacity: 0.7 },
    expansion: { color: "#8e44ad", weight: 1, dashArray: "3 3", fillOpacity: 0.1 },
    proposed: { color: "#2563eb", weight: 2, dashArray: "6 4", fillOpacity: 0.08 },
  };
  var layer = L.geoJSON(data, {
    filter: function (f) { return f.properties.part !== "release" || el.dataset.releases === "1"; },
    style: function (f) {
      var p = f.properties.part;
      if (p === "release") return { color: C[f.properties.outcome] || "#333", weight: 2, dashArray: "5 3", fillColor: C[f.properties.outcome], fillOpacity: el.dataset.releases === "1" ? 0.45 : 0.1 };
      return styles[p] || { color: "#333" };
    },
    pointToLayer: function (f, ll) {
      return L.circleMarker(ll, { radius: 5, color: "#111", weight: 1, fillColor: f.properties.part === "eo" ? "#9b59b6" : "#fff200", fillOpacity: 1 });
    },
    onEachFeature: function (f, l) {
      if (f.properties.report) l.bindTooltip(f.properties.report + " · " + f.properties.date);
    },
  }).addTo(map);
  var b = layer.getBounds();
  if (b.isValid()) map.fitBounds(b, { padding: [16, 16], maxZoom: 17 }); else map.setView([0, 0], 2);
  map.attributionControl.setPrefix("Leaflet");
  var scale = L.control.scale({ imperial: false });
  scale._updateMetric = function (maxMeters) {  // Leaflet writes "m" and "km" in English
    var m = this._getRoundNum(maxMeters);
    var unit = m < 1000 ? (el.dataset.m || "m") : (el.dataset.km || "km");
    this._updateScale(this._mScale, (m < 1000 ? m : m / 1000) + " " + unit, m / maxMeters);
  };
  scale.addTo(map);
  el.dataset.ready = "1";
})();
