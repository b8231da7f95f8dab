// The steps of the end-to-end test, each a function of the shared run context.
//
//   1. package the extension, install the .vsix, open a copy of samples/ with the model file
//   2. see the marks on connection and activation lines, and the line type on hover; typing a
//      layer line marks it without the other marks blinking; "Toggle line marks" hides and shows
//   3. run "NN Evolve: Evolve this network" with a tiny budget on digits, cancel it ("NN Evolve:
//      Cancel run"), run it and cancel it from its code lens (each ends on screen within 1.5 s
//      of the click), run it again and wait for the progress to end and its summary
//   4. apply a variant from the code-action menu; the file becomes exactly that variant's source
//      (the variant's source is read through a second LSP client: `nnevolve/runs` + `nnevolve/pareto`)
//   5. undo the applied variant (one Ctrl+Z restores the original network), open the results view
//      and see its Pareto plot and table, a variant's diff, and "Apply" of that variant
//   6. point nnevolve.pythonPath at a Python without nnevolve: the server restarts and one
//      notification names the fix; pointing it back brings the server (and its hovers) back
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { installExtension, profile, startCodeServer, writeUserSettings } from './codeServer.mjs';
import { startProbe } from './lspProbe.mjs';
import { log, poll } from './util.mjs';
import { Workbench } from './workbench.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const run = promisify(execFile);

// Lines the model file's text says are connection layers / activation functions: an oracle
// independent of the server's analysis.
const EXPECTED = {
  connection: /\bnn\.(Linear|Conv[123]d|ConvTranspose[123]d|LazyLinear|LazyConv[123]d|Embedding|RNN|LSTM|GRU)\s*\(/,
  activation: /\b(?:nn\.(ReLU6?|LeakyReLU|PReLU|ELU|SELU|CELU|GELU|SiLU|Mish|Sigmoid|Tanh|Softmax|LogSoftmax|Hardswish)|F\.(relu|gelu|elu|selu|leaky_relu|silu|sigmoid|tanh|softmax|log_softmax)|torch\.(relu|sigmoid|tanh))\s*\(/,
};

function expectedTypes(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith('#')) {
    return [];
  }
  return Object.entries(EXPECTED)
    .filter(([, pattern]) => pattern.test(text))
    .map(([type]) => type);
}

/**
 * The steps, by number, over a shared context: `options` (command line), `python`,
 * `codeServer`, `extensionDir`, `tmp`, `workspace`, `modelFile`, `artifacts`, `facts` (what later
 * steps learn from earlier ones), `cleanups` (run last-in first-out at the end) and `workbench`
 * (set by step 1).
 */
export function defineSteps(ctx) {
  const { options, python, codeServer, extensionDir, tmp, workspace, modelFile, artifacts, facts, cleanups } = ctx;
  let workbench;

  async function openModel() {
    log('packaging the extension (make -C extension package)');
    await run('make', ['-C', extensionDir, 'package'], { timeout: 600_000 });
    const vsix = path.join(extensionDir, 'nnevolve-0.1.0.vsix');
    if (!existsSync(path.join(options.samples, options.file))) {
      throw new Error(`${path.join(options.samples, options.file)} does not exist`);
    }
    cpSync(options.samples, workspace, { recursive: true, filter: (source) => !/(__pycache__|\.nnevolve)$/.test(source) });
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    const settings = {
      'nnevolve.pythonPath': python,
      'nnevolve.dataset': 'digits',
      // a small budget whose front offers variants with their means pinned down (two, at seed
      // 1; seeds 1-4 offer 1-3, seed 0 none); error and parameters only, so what is offered
      // does not hang on the load
      'nnevolve.generations': 2,
      'nnevolve.population': 6,
      'nnevolve.epochs': 5,
      'nnevolve.objectives': ['error', 'params'],
      'nnevolve.workers': 1,
      'nnevolve.seed': 1,
    };
    writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(settings, null, 2));
    const vscodeProfile = profile(tmp);
    writeUserSettings(vscodeProfile.dirs.userData);
    cleanups.push(() => {
      // keep the VS Code logs (extension host, the "NN Evolve" output channel) with the screenshots
      for (const [from, to] of [
        [path.join(vscodeProfile.dirs.userData, 'logs'), path.join(artifacts, 'logs')],
        [path.join(vscodeProfile.dirs.logs, 'code-server.log'), path.join(artifacts, 'logs', 'code-server.log')],
      ]) {
        if (existsSync(from)) {
          cpSync(from, to, { recursive: true });
        }
      }
    });
    log('installing the .vsix into code-server');
    await installExtension(codeServer, vsix, vscodeProfile);
    log('starting code-server');
    const server = await startCodeServer(codeServer, workspace, vscodeProfile);
    cleanups.push(() => server.stop());
    ctx.env = vscodeProfile.env; // the probe server of step 4 runs with it
    ctx.logsDir = path.join(vscodeProfile.dirs.userData, 'logs'); // the extension's output log

    log('starting Chromium');
    const context = await chromium.launchPersistentContext(path.join(tmp, 'browser'), {
      executablePath: options.chromium,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    });
    cleanups.push(() => context.close());
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    workbench = new Workbench(page, artifacts);
    ctx.workbench = workbench;
    await page.goto(`${server.url}?folder=${encodeURIComponent(workspace)}`);
    await workbench.waitReady();
    await workbench.openFile(options.file);
    await workbench.screenshot('01-model-open');
  }

  async function marksAndHover() {
    const source = readFileSync(modelFile, 'utf8').split(/\r?\n/);
    const expected = source.map((text, index) => ({ line: index + 1, types: expectedTypes(text) }));
    const typed = expected.filter((e) => e.types.length > 0);
    if (!typed.some((e) => e.types.includes('connection')) || !typed.some((e) => e.types.includes('activation'))) {
      throw new Error(`${options.file} has no connection or no activation line to check`);
    }
    const checked = await poll(
      'marks on every rendered connection and activation line',
      async () => {
        const rendered = await workbench.renderedLines();
        const byLine = new Map(rendered.map((r) => [r.line, r]));
        const problems = [];
        const seen = new Set();
        for (const { line, types } of typed) {
          const shown = byLine.get(line);
          if (!shown) {
            continue; // scrolled out of view
          }
          for (const type of types) {
            seen.add(type);
            if (!shown.tints.includes(type)) {
              problems.push(`line ${line} (${type}) has no ${type} tint`);
            }
          }
          if (!types.includes(shown.icon)) {
            problems.push(`line ${line} (${types.join('+')}) shows gutter icon ${shown.icon}`);
          }
        }
        for (const shown of rendered) {
          if (/^\s*(class|def|import|from)\b/.test(shown.text) && shown.icon) {
            problems.push(`line ${shown.line} ("${shown.text.trim()}") is marked ${shown.icon} but builds no layer`);
          }
        }
        if (!seen.has('connection') || !seen.has('activation')) {
          problems.push('no connection and activation line is rendered');
        }
        return { ok: problems.length === 0, why: problems.slice(0, 6).join('; '), rendered, seen };
      },
      90_000,
    );
    facts.markedLines = checked.rendered.filter((r) => r.icon).map((r) => `${r.line}:${r.icon}`);
    log(`marked lines: ${facts.markedLines.join(' ')}`);
    await workbench.screenshot('02-marks');

    const connection = typed.find((e) => e.types.includes('connection'));
    const callee = EXPECTED.connection.exec(source[connection.line - 1])[1];
    const hover = await poll(
      `hover on ${callee} (line ${connection.line}) says "connection layer"`,
      async () => {
        await workbench.page.mouse.move(5, 5);
        const text = await workbench.hover(connection.line, callee).catch((error) => `(${error.message})`);
        return { ok: /connection layer/i.test(text), why: `hover text: ${text}`, text };
      },
      30_000,
      1000,
    );
    facts.hover = hover.text;
    log(`hover: ${hover.text.replace(/\s+/g, ' ').slice(0, 160)}`);
    await workbench.screenshot('02-hover');
    await workbench.page.mouse.move(5, 5);

    await typingUpdatesMarks(typed);
    await toggleHidesAndShowsMarks();
  }

  /** A layer line typed into the model gets its mark; the marks already there never blink out. */
  async function typingUpdatesMarks(typed) {
    const page = workbench.page;
    const anchor = typed.filter((e) => e.types.includes('connection')).at(-1);
    const anchorText = readFileSync(modelFile, 'utf8').split(/\r?\n/)[anchor.line - 1];
    const newLine = anchor.line + 1;
    const before = (await workbench.renderedLines()).filter((r) => r.icon);
    // after the insertion, lines below it move down by one
    const expectedAfter = before.map((r) => ({ line: r.line > anchor.line ? r.line + 1 : r.line, icon: r.icon }));
    await workbench.click(anchor.line, anchorText.trim().slice(0, 4));
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('self.extra = nn.Linear(10, 10', { delay: 40 });
    const blinks = [];
    const marked = await poll(
      `the typed line ${newLine} gets a connection mark while the other marks stay`,
      async () => {
        const rendered = new Map((await workbench.renderedLines()).map((r) => [r.line, r]));
        for (const { line, icon } of expectedAfter) {
          if (rendered.get(line)?.icon !== icon) {
            blinks.push(`line ${line} lost its ${icon} mark`);
          }
        }
        return { ok: rendered.get(newLine)?.icon === 'connection', why: `line ${newLine}: ${JSON.stringify(rendered.get(newLine))}` };
      },
      15_000,
      100,
    );
    if (blinks.length > 0) {
      throw new Error(`marks flickered while typing: ${[...new Set(blinks)].join('; ')}`);
    }
    log(`typed line ${newLine} marked ${marked.ok ? 'connection' : '?'}; no mark blinked out`);
    await workbench.screenshot('02-typed');
    // undo the typing: the file must be as saved for the steps that follow
    for (let undo = 0; undo < 40 && (await page.locator('.tab.active.dirty').count()) > 0; undo++) {
      await page.keyboard.press('Control+Z');
      await page.waitForTimeout(100);
    }
    if ((await page.locator('.tab.active.dirty').count()) > 0) {
      throw new Error('undo did not bring the file back to its saved text');
    }
  }

  /** "NN Evolve: Toggle line marks" hides every mark, and brings them back. */
  async function toggleHidesAndShowsMarks() {
    const icons = async () => (await workbench.renderedLines()).filter((r) => r.icon).length;
    await poll('marks are shown', async () => ({ ok: (await icons()) > 0, why: 'no marks' }), 15_000);
    await workbench.runCommand('NN Evolve: Toggle line marks');
    await poll('marks are hidden after the toggle', async () => ({ ok: (await icons()) === 0, why: `${await icons()} marks` }), 10_000);
    await workbench.screenshot('02-marks-hidden');
    await workbench.runCommand('NN Evolve: Toggle line marks');
    await poll('marks are back after a second toggle', async () => ({ ok: (await icons()) > 0, why: 'no marks' }), 10_000);
    log('toggle line marks: hidden, then shown again');
  }

  async function startRun() {
    const text = readFileSync(modelFile, 'utf8').split(/\r?\n/);
    const firstCode = text.findIndex((line) => line.trim() && !line.trim().startsWith('#')) + 1;
    await workbench.click(firstCode, text[firstCode - 1].trim().slice(0, 6)); // focus the editor
    await workbench.runCommand('NN Evolve: Evolve this network');
    const status = workbench.statusItem('NN Evolve');
    await poll(
      'the run starts (status-bar item and progress notification)',
      async () => {
        const toasts = await workbench.notificationTexts();
        const started = (await status.isVisible()) && toasts.some((t) => /Evolving/i.test(t));
        return { ok: started, why: `notifications: ${JSON.stringify(toasts)}` };
      },
      90_000,
    );
    return status;
  }

  /**
   * The seconds from the click that cancels the run shown (`click`) to the end of its progress
   * on screen (status-bar item and notification gone); also when the extension logged the
   * cancel, to tell the browser's share from the extension's.
   */
  async function timeCancel(how, click) {
    const timing = await workbench.timeCancel();
    await click();
    const { clickedAt, shownAtClick, endedAt, statusGoneAt, toastGoneAt } = (
      await poll(
        `the run cancelled from the ${how} ends`,
        async () => {
          const seen = await timing();
          return { ok: seen.endedAt !== null, why: 'the status-bar item or the notification is still there', seen };
        },
        30_000,
        100,
      )
    ).seen;
    if (!shownAtClick) {
      throw new Error(`the run's status-bar item and notification were not shown when the ${how} was clicked`);
    }
    const seconds = (endedAt - clickedAt) / 1000;
    // the extension cancels the run itself (and closes its notification), whichever the route:
    // its output says so with the time it had the click
    const { logged } = await poll(
      `the extension cancels the run from the ${how} itself ("cancelling:" in its output)`,
      async () => {
        const at = extensionLogTime(/\[info\] cancelling: /, clickedAt - 1000);
        return { ok: at !== undefined, why: 'no such line', logged: at };
      },
      5_000,
      250,
    );
    const after = (at) => `+${((at - clickedAt) / 1000).toFixed(2)} s`;
    log(
      `the run cancelled from the ${how} ended ${seconds.toFixed(2)} s after the click (the extension had it ${after(logged)}; ` +
        `its status-bar item gone ${after(statusGoneAt)}, its notification ${after(toastGoneAt)})`,
    );
    return seconds;
  }

  /** The time (ms) of the first line of the "NN Evolve" output log that matches `pattern` after `after`. */
  function extensionLogTime(pattern, after) {
    const logs = ctx.logsDir && existsSync(ctx.logsDir) ? readdirSync(ctx.logsDir, { recursive: true }) : [];
    for (const file of logs.filter((name) => String(name).endsWith('NN Evolve.log'))) {
      for (const line of readFileSync(path.join(ctx.logsDir, String(file)), 'utf8').split('\n')) {
        const stamp = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+) /.exec(line);
        const at = stamp ? new Date(`${stamp[1]}T${stamp[2]}`).getTime() : NaN;
        if (at >= after && pattern.test(line)) {
          return at;
        }
      }
    }
    return undefined;
  }

  async function evolve() {
    // a run cancelled from the command palette, then one cancelled from its code lens: each
    // must end on screen within 1.5 s of the click (the extension closes the notification and
    // the status-bar item at once; the server's summary of what was kept follows)
    let status = await startRun();
    const palette = await timeCancel('palette', () => workbench.runCommand('NN Evolve: Cancel run'));
    await workbench.screenshot('03-cancelled');
    await workbench.runCommand('Notifications: Clear All Notifications');
    // the cancelled run's lens goes once the server has stopped it: until then a "Cancel" lens
    // on screen may still be that run's, and clicking it would not time the next run's cancel
    const stale = workbench.codeLens('— Cancel');
    await poll('the cancelled run\'s lens is gone', async () => ({ ok: !(await stale.isVisible()), why: 'still shown' }), 30_000);

    status = await startRun();
    const lens = workbench.codeLens('— Cancel');
    await lens.waitFor({ state: 'visible', timeout: 30_000 });
    const fromLens = await timeCancel('code lens', () => lens.click());
    await workbench.runCommand('Notifications: Clear All Notifications');
    facts.cancelSeconds = { palette, lens: fromLens };
    for (const [how, seconds] of Object.entries(facts.cancelSeconds)) {
      if (seconds > 1.5) {
        throw new Error(`the run cancelled from the ${how} ended ${seconds.toFixed(2)} s after the click (limit 1.5 s)`);
      }
    }

    status = await startRun();
    await workbench.screenshot('03-evolving');
    log('run started; waiting for its progress to end');
    await poll(
      'the run ends',
      async () => {
        if (!(await status.isVisible())) {
          return { ok: true };
        }
        return { ok: false, why: `still running: ${await status.innerText({ timeout: 2000 }).catch(() => '')}` };
      },
      Number(options['evolve-timeout']) * 1000,
      1000,
    );
    // the server's summary, with a "Show results" button
    const summary = await poll(
      'a notification with the run summary and "Show results"',
      async () => {
        const toasts = await workbench.notificationTexts();
        const toast = toasts.find((t) => t.includes('NN Evolve') && t.includes('Show results'));
        return { ok: toast !== undefined, why: `notifications: ${JSON.stringify(toasts)}`, toast };
      },
      20_000,
    );
    facts.evolveSummary = summary.toast.replace(/\s+/g, ' ');
    log(`run summary: ${facts.evolveSummary}`);
    await workbench.screenshot('03-evolved');
  }

  async function applyVariant() {
    const before = readFileSync(modelFile, 'utf8');
    const lines = before.split(/\r?\n/);
    const classLines = lines
      .map((text, index) => ({ line: index + 1, match: /^class\s+(\w+)\s*\(([^)]*)\)/.exec(text) }))
      .filter((c) => c.match && /Module/.test(c.match[2]));
    const model = classLines[classLines.length - 1];
    if (!model) {
      throw new Error(`${options.file} defines no nn.Module subclass`);
    }
    await workbench.closeQuickInput();
    await workbench.click(model.line, model.match[1]);
    const menu = workbench.page.locator('.action-widget');
    const actions = menu.locator('.monaco-list-row', { hasText: /Apply variant \d+\/\d+/ });
    await poll(
      `the code-action menu on class ${model.match[1]} offers "Apply variant i/n"`,
      async () => {
        if (!(await menu.isVisible())) {
          await workbench.page.keyboard.press('Control+Period');
          await workbench.page.waitForTimeout(1500);
        }
        const count = await actions.count();
        const offered = (await menu.isVisible()) ? await menu.innerText() : '(no menu)';
        if (count === 0 && (await menu.isVisible())) {
          await workbench.page.keyboard.press('Escape');
        }
        return { ok: count > 0, why: `menu: ${offered.replace(/\s+/g, ' ').slice(0, 300)}` };
      },
      30_000,
      500,
    );
    await workbench.screenshot('04-code-actions');
    // the menu is driven by keyboard: a pointer block lies over it while it opens
    const focused = menu.locator('.monaco-list-row.focused');
    let title = '';
    for (let moves = 0; moves < 20 && !/Apply variant \d+\/\d+/.test(title); moves++) {
      if (moves > 0) {
        await workbench.page.keyboard.press('ArrowDown');
      }
      title = ((await focused.count()) > 0 ? await focused.first().getAttribute('aria-label') : '') ?? '';
    }
    if (!/Apply variant \d+\/\d+/.test(title)) {
      throw new Error(`could not focus an "Apply variant" action in the menu (last: "${title}")`);
    }
    log(`applying: ${title}`);
    await workbench.page.keyboard.press('Enter');
    await workbench.page.locator('.tab.active.dirty').first().waitFor({ state: 'visible', timeout: 15_000 });
    await workbench.page.keyboard.press('Control+S');
    const saved = await poll(
      'the applied variant is saved to disk',
      async () => {
        const text = readFileSync(modelFile, 'utf8');
        return { ok: text !== before, why: 'the file on disk is unchanged', text };
      },
      15_000,
    );

    // the variant's source as the server's protocol reports it
    const probe = await startProbe(python, workspace, ctx.env);
    cleanups.push(() => probe.stop());
    const uri = pathToFileURL(modelFile).href;
    const runsAnswer = await probe.request('nnevolve/runs', { uri });
    const runs = Array.isArray(runsAnswer) ? runsAnswer : runsAnswer?.runs ?? [];
    if (runs.length === 0) {
      throw new Error(`nnevolve/runs lists no run for ${uri}: ${JSON.stringify(runsAnswer).slice(0, 400)}`);
    }
    const runId = runs[0].id ?? runs[0].run;
    const paretoAnswer = await probe.request('nnevolve/pareto', { run: runId, uri });
    const variants = (Array.isArray(paretoAnswer) ? paretoAnswer : paretoAnswer?.variants ?? []).filter((v) => !v.is_base);
    // the title names the variant by its figures: "Apply variant 2/5: 98.2% (+0.4), 18,204 params (−38%), ..."
    const params = /([\d,]+)\s+params/.exec(title)?.[1]?.replace(/,/g, '');
    const index = Number(/Apply variant (\d+)\//.exec(title)[1]) - 1;
    const paramsOf = (v) => v.evaluation?.params ?? v.params;
    const byIndex = variants.find((v) => v.index === index + 1) ?? variants[index];
    const chosen = (params !== undefined && variants.find((v) => String(paramsOf(v)) === params)) || byIndex;
    if (!chosen) {
      throw new Error(`nnevolve/pareto of run ${runId} has no variant for "${title}"`);
    }
    if (saved.text !== chosen.source) {
      writeFileSync(path.join(artifacts, '04-editor-text.py'), saved.text);
      writeFileSync(path.join(artifacts, '04-variant-source.py'), chosen.source ?? '');
      throw new Error(`the editor's text is not variant ${chosen.id}'s source (both saved in ${artifacts})`);
    }
    facts.applied = { title, run: runId, variant: chosen.id, params: paramsOf(chosen) };
    ctx.originalText = before; // for step 5: undo, then apply another variant from the results view
    ctx.paretoVariants = variants;
    log(`the editor's text is exactly the variant with id ${chosen.id} of run ${runId}`);
    await workbench.screenshot('04-applied');
  }

  /** Save the active editor and wait until the file on disk has `expected` text. */
  async function saveAndExpect(expected, what) {
    await workbench.page.keyboard.press('Control+S');
    await poll(what, async () => ({ ok: readFileSync(modelFile, 'utf8') === expected, why: 'the file on disk differs' }), 15_000);
  }

  async function resultsView() {
    const page = workbench.page;
    if (ctx.originalText !== undefined) {
      // the applied variant is an ordinary edit: one undo brings the original network back
      await workbench.closeQuickInput();
      await workbench.openFile(options.file);
      await page.keyboard.press('Control+Z');
      await saveAndExpect(ctx.originalText, 'one undo restores the original network');
      log('undo restored the original network');
    }
    await workbench.runCommand('NN Evolve: Show results');
    const frame = await workbench.webviewFrameWith('svg.pareto-plot', 60_000);
    const counts = async () => ({
      points: await frame.locator('svg.pareto-plot .point').count(),
      variants: await frame.locator('svg.pareto-plot circle.point').count(),
      original: await frame.locator('svg.pareto-plot .point.base').count(),
      rows: await frame.locator('table.variants tbody tr.figures').count(),
    });
    const { points, variants, original, rows } = (
      await poll(
        'the plot and the table show the run',
        async () => {
          const shown = await counts();
          return { ok: shown.variants > 0 && shown.points === shown.variants + shown.original, why: JSON.stringify(shown), shown };
        },
        30_000,
      )
    ).shown;
    facts.results = { points, variants, original, rows };
    log(`results view: ${points} points (${variants} variants, ${original} original), ${rows} table rows`);
    await workbench.screenshot('05-results');
    if (variants < 1 || rows < 1) {
      throw new Error(`the Pareto plot shows ${variants} variants and the table ${rows} rows`);
    }
    if (original !== 1) {
      throw new Error(`the plot marks ${original} original networks, expected 1`);
    }
    // the diff of a variant other than the one applied, so that it has changes to show
    const applied = String(facts.applied?.variant ?? '');
    const others = frame.locator(`table.variants tr.figures.variant:not([data-key="${applied}"])`);
    const row = (await others.count()) > 0 ? others.first() : frame.locator('table.variants tr.figures.variant').first();
    const shown = await row.getAttribute('data-key');
    await row.locator('button', { hasText: 'Show diff' }).click();
    const diff = workbench.page.locator('.monaco-diff-editor').first();
    await diff.waitFor({ state: 'visible', timeout: 30_000 });
    if (shown !== applied) {
      await poll(
        `the diff of variant ${shown} shows changed lines`,
        async () => {
          const changes = await diff.locator('.line-insert, .line-delete, .char-insert, .char-delete, .gutter-insert, .gutter-delete').count();
          return { ok: changes > 0, why: 'no inserted or deleted lines are drawn' };
        },
        15_000,
      );
    }
    facts.results.diffOf = shown;
    await workbench.screenshot('05-diff');

    // "Apply" in the results view goes through the server's nnevolve.applyVariant
    const variant = ctx.paretoVariants?.find((v) => String(v.id) === shown);
    if (ctx.originalText !== undefined && variant) {
      await row.locator('button', { hasText: 'Apply' }).click();
      await page.locator('.tab.active.dirty').first().waitFor({ state: 'visible', timeout: 15_000 });
      await saveAndExpect(variant.source, `"Apply" in the results view turns the file into the variant with id ${shown}`);
      facts.results.appliedFromView = shown;
      log(`"Apply" in the results view: the file is exactly the variant with id ${shown}`);
      await workbench.screenshot('05-applied-from-view');
    }
  }

  async function interpreterSetting() {
    const page = workbench.page;
    const bare = path.join(tmp, 'bare-python');
    await run(python, ['-m', 'venv', '--without-pip', bare], { timeout: 60_000 });
    const barePython = path.join(bare, 'bin', 'python');
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    const settings = readFileSync(settingsFile, 'utf8');
    await workbench.closeQuickInput();
    await workbench.openFile(options.file); // step 5 may have left a diff editor in front
    // earlier notifications (the run summary) would be counted below: clear them first
    await workbench.runCommand('Notifications: Clear All Notifications');
    writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(settings), 'nnevolve.pythonPath': barePython }, null, 2));
    const errors = page.locator('.notifications-toasts .notification-toast').filter({ hasText: 'NN Evolve' });
    const notice = await poll(
      'one notification says nnevolve is not installed in the new interpreter, with the fix',
      async () => {
        const texts = await errors.allInnerTexts();
        const named = texts.filter((t) => t.includes(`nnevolve is not installed in ${barePython}`));
        return { ok: named.length === 1 && /Install nnevolve/.test(named[0]), why: JSON.stringify(texts), text: named[0] };
      },
      30_000,
    );
    await page.waitForTimeout(3000); // an error storm would show more toasts by now
    const texts = await errors.allInnerTexts();
    if (texts.length !== 1) {
      throw new Error(`expected one NN Evolve notification, got ${texts.length}: ${JSON.stringify(texts)}`);
    }
    facts.noNnevolveNotice = notice.text.replace(/\s+/g, ' ');
    log(`notification: ${facts.noNnevolveNotice}`);
    await workbench.screenshot('06-no-nnevolve');

    writeFileSync(settingsFile, settings);
    await workbench.runCommand('Notifications: Clear All Notifications');
    const source = readFileSync(modelFile, 'utf8').split(/\r?\n/);
    const line = source.findIndex((text) => EXPECTED.connection.test(text)) + 1;
    const callee = EXPECTED.connection.exec(source[line - 1])[1];
    await poll(
      'after switching back, the restarted server answers hovers',
      async () => {
        await page.mouse.move(5, 5);
        const text = await workbench.hover(line, callee, 3000).catch((error) => `(${error.message})`);
        return { ok: /connection layer/i.test(text), why: `hover text: ${text}` };
      },
      60_000,
      1000,
    );
    await workbench.screenshot('06-restarted');
  }

  return {
    1: { name: 'open the model in VS Code with the packaged extension', run: openModel },
    2: { name: 'marks on connection and activation lines, type on hover', run: marksAndHover },
    3: { name: 'evolve this network with a tiny budget on digits', run: evolve },
    4: { name: 'apply a variant from the code-action menu', run: applyVariant },
    5: { name: 'undo, then the results view: Pareto plot, table, diff, apply', run: resultsView },
    6: { name: 'a Python without nnevolve gets one notification; switching back restarts the server', run: interpreterSetting },
  };
}
