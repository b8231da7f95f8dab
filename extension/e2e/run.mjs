#!/usr/bin/env node
// End-to-end test of the extension in a real VS Code (code-server + headless Chromium); the
// steps are described in steps.mjs.
//
// Usage: node e2e/run.mjs --code-server PATH --python PATH [--steps all|1-2|1,2,6] [--artifacts DIR]
// NNEVOLVE_E2E_STEPS works like --steps. A screenshot of every step goes to the artifacts folder,
// with summary.json and the VS Code logs. Exit status 0 when every requested step passed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { defineSteps } from './steps.mjs';
import { log, shortMessage } from './util.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionDir = path.dirname(here);
const repo = path.dirname(extensionDir);

const { values: options } = parseArgs({
  options: {
    'code-server': { type: 'string' },
    python: { type: 'string' },
    samples: { type: 'string', default: path.join(repo, 'samples') },
    file: { type: 'string', default: 'convnet_small.py' },
    artifacts: { type: 'string', default: path.join(repo, 'test-artifacts', 'e2e') },
    steps: { type: 'string', default: process.env.NNEVOLVE_E2E_STEPS || 'all' },
    'evolve-timeout': { type: 'string', default: '480' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    keep: { type: 'boolean', default: false },
  },
});

function parseSteps(text, known) {
  if (text === 'all') {
    return known;
  }
  const steps = new Set();
  for (const part of text.split(',')) {
    const [from, to] = part.split('-').map((n) => Number(n.trim()));
    for (let step = from; step <= (to ?? from); step++) {
      if (!known.includes(step)) {
        throw new Error(`unknown step ${step} in --steps ${text} (steps are ${known.join(', ')})`);
      }
      steps.add(step);
    }
  }
  steps.add(1); // every other step needs the workbench that step 1 opens
  return [...steps].sort((a, b) => a - b);
}

const codeServer = options['code-server'];
const python = options.python;
if (!codeServer || !python) {
  console.error('usage: node e2e/run.mjs --code-server PATH --python PATH [--steps all|1-2] [--artifacts DIR]');
  process.exit(2);
}
const artifacts = path.resolve(options.artifacts);
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nnevolve-e2e-'));
const workspace = path.join(tmp, 'workspace');
const modelFile = path.join(workspace, options.file);
const ctx = {
  options, python, codeServer, extensionDir, tmp, workspace, modelFile, artifacts,
  facts: {}, // what later steps learn from earlier ones
  cleanups: [], // run last-in first-out when the driver ends
  workbench: undefined, // set by step 1
};
const STEPS = defineSteps(ctx);
const steps = parseSteps(options.steps, Object.keys(STEPS).map(Number));
const { cleanups, facts } = ctx;
const results = [];

async function cleanup() {
  while (cleanups.length > 0) {
    const task = cleanups.pop();
    try {
      await task();
    } catch (error) {
      console.error(`cleanup: ${error.message}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

let failed = null;
try {
  for (const step of steps) {
    const started = Date.now();
    const { name, run } = STEPS[step];
    log(`step ${step}: ${name}`);
    try {
      await run();
      results.push({ step, name, ok: true, seconds: (Date.now() - started) / 1000 });
      log(`step ${step} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = shortMessage(error);
      results.push({ step, name, ok: false, seconds: (Date.now() - started) / 1000, error: message });
      failed = { step, name, error };
      const { workbench } = ctx;
      if (workbench) {
        await workbench.screenshot(`failure-step-${step}`);
        await workbench.saveEditorHtml(`failure-step-${step}-editor.html`);
        facts.notificationsAtFailure = (await workbench.notificationTexts().catch(() => [])).map((t) => t.replace(/\s+/g, ' '));
      }
      break;
    }
  }
} finally {
  await cleanup();
  if (!options.keep) {
    rmSync(tmp, { recursive: true, force: true });
  }
  writeFileSync(path.join(artifacts, 'summary.json'), JSON.stringify({ steps: results, facts }, null, 2));
}
if (failed) {
  console.error(`E2E FAILED at step ${failed.step} (${failed.name}): ${shortMessage(failed.error)}`);
  if (facts.notificationsAtFailure?.length) {
    console.error(`notifications on screen: ${JSON.stringify(facts.notificationsAtFailure)}`);
  }
  console.error(`details: ${failed.error.stack ?? failed.error}`.slice(0, 4000));
  console.error(`screenshots and logs: ${artifacts}`);
  process.exit(1);
}
log(`all requested steps passed: ${steps.join(', ')}`);
// playwright may keep handles open: leave now that everything is closed
process.exit(0);
