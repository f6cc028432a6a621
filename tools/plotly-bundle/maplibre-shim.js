'use strict';
// Stands in for maplibre-gl inside the plotly.js bundle. MapLibre is served as its own unmodified ES modules
// (maplibre-gl.mjs, maplibre-gl-shared.mjs, maplibre-gl-worker.mjs) and imported on the first map drawn:
// pages without a map never download it, and the map worker imports the same maplibre-gl-shared.mjs as the
// page (one download, from the browser cache) instead of plotly's second copy of it inlined as a string.
// The URL is relative to this bundle's own address (<prefix>assets/vendor/ → <prefix>vendor/).
var MAPLIBRE_URL = '../../vendor/maplibre-gl-' + __MAPLIBRE_VERSION__ + '/maplibre-gl.mjs';
var script = document.currentScript;
var base = script && script.src ? script.src : window.location.href;
var lib = null;
var loading = null;

function ready() {
    if(!loading) {
        // Its stylesheet too (controls, attribution), linked once beside the module.
        var link = document.createElement('link');
        link.rel = 'stylesheet';
        link.href = new URL(MAPLIBRE_URL.replace(/\.mjs$/, '.css'), base).href;
        document.head.appendChild(link);
        loading = import(new URL(MAPLIBRE_URL, base).href).then(function(m) {
            lib = m;
            return m;
        });
    }
    return loading;
}

function get(name) {
    if(!lib) throw new Error('maplibre-gl is used before it was loaded');
    return lib[name];
}

module.exports = {
    ready: ready,
    // MapLibre finds its worker beside maplibre-gl.mjs (a module worker importing maplibre-gl-shared.mjs).
    setWorkerUrl: function() {},
    get Map() { return get('Map'); },
    get AttributionControl() { return get('AttributionControl'); },
    get LngLat() { return get('LngLat'); }
};
