// Bundles the extension (Node, CommonJS, `vscode` external) and the results webview script (browser).
import * as esbuild from 'esbuild';

const production = !process.argv.includes('--dev');
const common = { bundle: true, minify: production, sourcemap: !production, logLevel: 'warning', target: 'es2022' };

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    external: ['vscode'],
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/results/webview/main.ts'],
    outfile: 'dist/results.js',
    platform: 'browser',
    format: 'iife',
  }),
]);
