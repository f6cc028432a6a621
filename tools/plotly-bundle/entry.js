'use strict';
// plotly.js's own src/core.js (4.1.1) with only the components and trace types the dashboard draws, so the
// bundle every page loads stays small. Left out: annotations3d, images, updatemenus, sliders, rangeslider and
// rangeselector (no figure uses them), the world calendars, and every other trace type.
// Keep TRACES in step with observatory/dashboard/plotly_bundle.py: a test compares it with the figures' code.

exports.version = require('plotly.js/src/version').version;

require('native-promise-only');
require('plotly.js/build/plotcss');

var Registry = require('plotly.js/src/registry');
var register = exports.register = Registry.register;

var plotApi = require('plotly.js/src/plot_api');
var methodNames = Object.keys(plotApi);
for(var i = 0; i < methodNames.length; i++) {
    var name = methodNames[i];
    if(name.charAt(0) !== '_') exports[name] = plotApi[name];
    register({moduleType: 'apiMethod', name: name, fn: plotApi[name]});
}

register(require('plotly.js/src/traces/scatter'));

register([
    require('plotly.js/src/components/annotations'),
    require('plotly.js/src/components/selections'),
    require('plotly.js/src/components/shapes'),
    require('plotly.js/src/components/grid'),
    require('plotly.js/src/components/errorbars'),
    require('plotly.js/src/components/colorscale'),
    require('plotly.js/src/components/colorbar'),
    require('plotly.js/src/components/legend'), // after shapes, as in core.js
    require('plotly.js/src/components/fx'), // after legend, as in core.js
    require('plotly.js/src/components/modebar')
]);

register([require('plotly.js/src/locale-en'), require('plotly.js/src/locale-en-us')]);

// TRACES (besides scatter, registered above)
register([
    require('plotly.js/src/traces/bar'),
    require('plotly.js/src/traces/heatmap'),
    require('plotly.js/src/traces/waterfall'),
    require('plotly.js/src/traces/scattermap'),
    require('plotly.js/src/traces/choroplethmap'),
    require('plotly.js/src/traces/densitymap')
]);

// Locales loaded before this file (plotly-locale-fr.js) wait in window.PlotlyLocales.
if(window.PlotlyLocales && Array.isArray(window.PlotlyLocales)) {
    register(window.PlotlyLocales);
    delete window.PlotlyLocales;
}

exports.Icons = require('plotly.js/src/fonts/ploticon');

var Fx = require('plotly.js/src/components/fx');
var Plots = require('plotly.js/src/plots/plots');
exports.Plots = {resize: Plots.resize, graphJson: Plots.graphJson, sendDataToCloud: Plots.sendDataToCloud};
exports.Fx = {hover: Fx.hover, unhover: Fx.unhover, loneHover: Fx.loneHover, loneUnhover: Fx.loneUnhover};
exports.Snapshot = require('plotly.js/src/snapshot');
exports.PlotSchema = require('plotly.js/src/plot_api/plot_schema');
