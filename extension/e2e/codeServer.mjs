// code-server for the end-to-end test: an isolated user data / extensions / HOME folder, its own
// process group (its extension host outlives the browser), stopped by killing that group.
import { spawn, execFile } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Folders and environment of one isolated VS Code profile under `root`. */
export function profile(root, extraEnv = {}) {
  const dirs = {
    home: path.join(root, 'home'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    logs: path.join(root, 'logs'),
  };
  Object.values(dirs).forEach((dir) => mkdirSync(dir, { recursive: true }));
  const env = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    ...extraEnv,
  };
  return { dirs, env };
}

/** User settings that keep the workbench quiet and fast to drive. */
export function writeUserSettings(userData, settings = {}) {
  const folder = path.join(userData, 'User');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    path.join(folder, 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'security.workspace.trust.enabled': false,
        'update.mode': 'none',
        'editor.hover.delay': 100,
        'editor.minimap.enabled': false,
        'editor.lightbulb.enabled': 'on',
        'files.autoSave': 'off',
        'git.enabled': false,
        'window.restoreWindows': 'none',
        'workbench.colorTheme': 'Default Dark Modern',
        ...settings,
      },
      null,
      2,
    ),
  );
}

export async function installExtension(codeServer, vsix, { dirs, env }) {
  const { stdout, stderr } = await run(
    codeServer,
    ['--install-extension', vsix, '--force', '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions],
    { env, timeout: 120_000 },
  );
  const text = `${stdout}\n${stderr}`;
  if (!/successfully installed/i.test(text)) {
    throw new Error(`code-server did not install ${vsix}:\n${text}`);
  }
}

/**
 * Start code-server on `folder`; resolves once it answers HTTP.
 * The returned `stop()` kills its whole process group (extension host and language server too).
 */
export async function startCodeServer(codeServer, folder, { dirs, env }) {
  const port = await freePort();
  const log = openSync(path.join(dirs.logs, 'code-server.log'), 'a');
  const child = spawn(
    codeServer,
    [
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      folder,
    ],
    { env, detached: true, stdio: ['ignore', log, log] }, // detached = setsid: its own process group
  );
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const stop = () => killGroup(child.pid);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`code-server exited (${JSON.stringify(exited)}); see ${path.join(dirs.logs, 'code-server.log')}`);
    }
    try {
      const response = await fetch(`${url}healthz`);
      if (response.ok) {
        return { url, port, pid: child.pid, stop };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error('code-server did not answer within 60 s');
}

/** SIGTERM a process group, then SIGKILL what is left after a grace period. */
export async function killGroup(pgid, graceMs = 3000) {
  if (!pgid) {
    return;
  }
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (alive()) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone in between
    }
  }
}
