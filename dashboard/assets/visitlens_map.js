/* Drawing the customer map's features (dash-leaflet calls these by name: CSP-safe).
   Popups are built with DOM nodes and textContent, so names from files stay text. */
window.visitlens_map = {
  colour: function (props, hideout) {
    var palette = (hideout && hideout.colours) || ["#1f77b4"];
    var key = props.key;
    if (props.kind === "cluster") {
      var best = null, most = -1;
      for (var k in props.keys) {
        if (props.keys[k] > most) { most = props.keys[k]; best = k; }
      }
      key = Number(best);
    }
    return hideout && hideout.by_employee ? palette[(key - 1) % palette.length]
                                          : palette[key % palette.length];
  },
  pointToLayer: function (feature, latlng, context) {
    var props = feature.properties, hideout = context && context.hideout;
    var colour = window.visitlens_map.colour(props, hideout);
    if (props.kind === "cluster") {
      /* 26 to 40 pixels: maps.CLUSTER_PIXELS keeps clusters that far apart. */
      var size = Math.round(26 + Math.min(14, Math.log10(Math.max(1, props.count)) * 4));
      var label = document.createElement("div");
      label.className = "vl-cluster";
      label.style.width = size + "px";
      label.style.height = size + "px";
      label.style.lineHeight = size + "px";
      label.style.background = colour;
      label.textContent = String(Number(props.count));
      return L.marker(latlng, {icon: L.divIcon({html: label, className: "vl-cluster-icon",
                                                iconSize: [size, size]})});
    }
    return L.circleMarker(latlng, {radius: 7, color: "#ffffff", weight: 1.5,
                                   fillColor: colour, fillOpacity: 0.9});
  },
  onEachFeature: function (feature, layer, context) {
    var props = feature.properties, hideout = (context && context.hideout) || {};
    var labels = hideout.labels || {};
    if (props.kind === "cluster") {
      var parts = [String(props.count) + " " + (labels.customers || "")];
      var names = hideout.key_names || {};
      for (var k in props.keys) {
        if (names[k]) { parts.push(names[k] + ": " + props.keys[k]); }
      }
      // Leaflet puts a string tooltip in as HTML: employee names go in as text instead.
      var tip = document.createElement("span");
      tip.textContent = parts.join(" · ");
      layer.bindTooltip(tip);
      layer.on("click", function (event) {
        var map = event.target._map;
        map.setView(event.latlng, Math.min(map.getZoom() + 2, 18));
      });
      return;
    }
    layer.bindPopup(function () {
      var box = document.createElement("div");
      box.className = "vl-popup";
      var title = document.createElement("strong");
      title.textContent = (props.name || "") + " (" + props.code + ")";
      box.appendChild(title);
      var rows = [["grade", props.grade || labels.unrated], ["address", props.address],
                  ["owners", props.owners], ["last_visit", props.last_visit || labels.never],
                  ["visits", String(props.visits)]];
      rows.forEach(function (row) {
        var line = document.createElement("div");
        line.textContent = (labels[row[0]] || row[0]) + ": " + (row[1] || "—");
        box.appendChild(line);
      });
      var link = document.createElement("a");
      link.href = "/customers?code=" + encodeURIComponent(props.code);
      link.textContent = labels.open || "Open";
      box.appendChild(link);
      return box;
    });
  }
};

/* Leaflet's own control texts in the page's language (the index page carries them in
   meta[name=visitlens-texts], from the catalogs); the "Leaflet" link is not shown. */
(function () {
  var meta = document.querySelector('meta[name="visitlens-texts"]');
  var texts = meta ? JSON.parse(meta.content) : {};
  if (window.L && window.L.Control) {
    if (texts.zoomIn) { window.L.Control.Zoom.prototype.options.zoomInTitle = texts.zoomIn; }
    if (texts.zoomOut) { window.L.Control.Zoom.prototype.options.zoomOutTitle = texts.zoomOut; }
    window.L.Control.Attribution.prototype.options.prefix = false;
  }
})();

/* The offline base layer (assets/basemap_china.json): land, and province outlines. */
window.visitlens_map.baseStyle = function (feature) {
  if (feature.properties.kind === "land") {
    return {stroke: true, color: "#94a3b8", weight: 1, fill: true, fillColor: "#f8fafc",
            fillOpacity: 1};
  }
  return {stroke: true, color: "#cbd5e1", weight: 1, fill: false, dashArray: "4 3"};
};
/* Its shapes take no clicks or hovers (set before Leaflet draws them): the markers do. */
window.visitlens_map.baseFeature = function (feature, layer) {
  layer.options.interactive = false;
};
