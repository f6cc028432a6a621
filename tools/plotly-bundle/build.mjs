// Dev-time build of the dashboard's plotly.js bundle (see README.md): `npm ci && npm run build`.
// Writes observatory/dashboard/assets/vendor/plotly-observatoire.min.js (+ licences) and copies MapLibre's own
// dist files to observatory/dashboard/vendor/maplibre-gl-<version>/.
import * as esbuild from 'esbuild';
import {minify} from 'terser';
import fs from 'node:fs';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const dashboard = path.resolve(here, '../../observatory/dashboard');
const assets = path.join(dashboard, 'assets/vendor');
const plotlyDir = path.dirname(require.resolve('plotly.js/package.json'));
const maplibreDir = path.dirname(require.resolve('maplibre-gl/package.json'));
const plotlyVersion = require('plotly.js/package.json').version;
const maplibreVersion = require('maplibre-gl/package.json').version;
const vendor = path.join(dashboard, 'vendor', `maplibre-gl-${maplibreVersion}`);
const out = path.join(assets, 'plotly-observatoire.min.js');

// plotly.js's map subplot imports maplibre-gl and an inlined copy of its worker; both are replaced (maplibre-shim.js),
// the CSS is served as a file, and the country-name lookup (locationmode 'country names', unused) is left out.
const MAP_JS = path.join(plotlyDir, 'src/plots/map/map.js');
const CREATE = 'self.createMap(calcData, fullLayout, resolve, reject);';
const stub = (contents) => ({contents, loader: 'js'});
const observatoire = {
    name: 'observatoire',
    setup(build) {
        build.onResolve({filter: /^maplibre-gl\/dist\/maplibre-gl\.mjs$/}, () => ({path: path.join(here, 'maplibre-shim.js')}));
        build.onResolve({filter: /build\/maplibre_worker$/}, () => ({path: 'maplibre-worker', namespace: 'stub'}));
        build.onResolve({filter: /^maplibre-gl\/dist\/maplibre-gl\.css$/}, () => ({path: 'maplibre-css', namespace: 'stub'}));
        build.onResolve({filter: /^country-iso-search$/}, () => ({path: 'country-iso-search', namespace: 'stub'}));
        build.onLoad({filter: /.*/, namespace: 'stub'}, (args) => {
            if(args.path === 'country-iso-search') {
                return stub("module.exports = {COUNTRIES: [], createLookup: function () { return {lookupAlpha3: function () { return false; }}; }};");
            }
            return stub(args.path === 'maplibre-worker' ? "module.exports = '';" : '');
        });
        // The first map waits for MapLibre's modules (imported on demand) before it is created.
        build.onLoad({filter: /src[\\/]plots[\\/]map[\\/]map\.js$/}, (args) => {
            const source = fs.readFileSync(args.path, 'utf8');
            if(args.path !== MAP_JS || !source.includes(CREATE)) {
                throw new Error(`plotly.js changed: "${CREATE}" not found in ${args.path}; review maplibre-shim.js`);
            }
            const patched = source.replace(CREATE, `maplibregl.ready().then(function () { ${CREATE} }, reject);`);
            return {contents: patched, loader: 'js'};
        });
    }
};

const result = await esbuild.build({
    entryPoints: [path.join(here, 'entry.js')],
    outfile: out,
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'external',
    metafile: true,
    plugins: [observatoire],
    alias: {stream: 'stream-browserify'},
    define: {global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false', __MAPLIBRE_VERSION__: JSON.stringify(maplibreVersion)},
    target: 'es2020',
    logLevel: 'info'
});
if(result.errors.length) process.exit(1);

// A second pass with terser (two compress passes): 7 % fewer bytes after brotli than esbuild's minifier alone.
const banner = `/* plotly.js ${plotlyVersion} partial bundle for the observatoire dashboard (tools/plotly-bundle). MIT License, Copyright (c) 2021 Plotly, Inc.; bundled packages' licences: plotly-observatoire.LICENSE.txt */`;
const squeezed = await minify(fs.readFileSync(out, 'utf8'), {compress: {passes: 2}, mangle: true, format: {comments: false}, ecma: 2020});
fs.writeFileSync(out, banner + '\n' + squeezed.code);

// One licence file: plotly.js's own, then the legal comments esbuild collected from the bundled packages.
const legal = out + '.LEGAL.txt';
const packages = new Map();
for(const input of Object.keys(result.metafile.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
    if(!m) continue;
    const name = m[m.length - 1].slice('node_modules/'.length, -1);
    const info = JSON.parse(fs.readFileSync(path.join(here, input.slice(0, input.lastIndexOf(m[m.length - 1]) + m[m.length - 1].length), 'package.json'), 'utf8'));
    packages.set(name, `${name} ${info.version}: ${typeof info.license === 'string' ? info.license : JSON.stringify(info.license)}`);
}
const licence = [
    `plotly.js ${plotlyVersion} (partial bundle built by tools/plotly-bundle of the observatoire repository)\n`,
    fs.readFileSync(path.join(plotlyDir, 'LICENSE'), 'utf8'),
    '\nPackages bundled with it, and their licences (full texts in each package on the npm registry):\n',
    [...packages.values()].sort().join('\n'),
    '\nLicence comments kept from the bundled sources:\n',
    fs.existsSync(legal) ? fs.readFileSync(legal, 'utf8') : ''
];
fs.writeFileSync(path.join(assets, 'plotly-observatoire.LICENSE.txt'), licence.join('\n'));
if(fs.existsSync(legal)) fs.unlinkSync(legal);

// MapLibre, unmodified.
fs.rmSync(path.join(dashboard, 'vendor'), {recursive: true, force: true});
fs.mkdirSync(vendor, {recursive: true});
for(const name of ['maplibre-gl.mjs', 'maplibre-gl-shared.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css']) {
    fs.copyFileSync(path.join(maplibreDir, 'dist', name), path.join(vendor, name));
}
fs.copyFileSync(path.join(maplibreDir, 'LICENSE.txt'), path.join(vendor, 'LICENSE.txt'));
console.log(`plotly.js ${plotlyVersion}, maplibre-gl ${maplibreVersion}: ${out}, ${vendor}`);
