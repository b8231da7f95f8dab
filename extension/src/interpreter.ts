/**
 * Which Python runs the language server, and what to tell the user when it cannot.
 *
 * The order is the `nnevolve.pythonPath` setting, then the Python extension's active
 * interpreter, then `python3`. Kept free of the `vscode` module so it can be tested in
 * plain Node; `python.ts` feeds it what VS Code knows.
 */
import * as path from 'node:path';

import launch = require('./serverLaunch.json');

export type InterpreterSource = 'setting' | 'python extension' | 'default';

export interface Interpreter {
  command: string; // an absolute path, or a bare name looked up on PATH
  source: InterpreterSource;
}

export interface InterpreterInputs {
  setting: string | undefined; // nnevolve.pythonPath as written
  pythonExtension: string | undefined; // the Python extension's active interpreter, when installed
  workspaceFolder: string | undefined;
  home: string;
  platform: NodeJS.Platform;
}

/** The interpreter to start the language server with. */
export function chooseInterpreter(inputs: InterpreterInputs): Interpreter {
  const setting = inputs.setting?.trim();
  if (setting) {
    return { command: expandPath(setting, inputs.workspaceFolder, inputs.home, inputs.platform), source: 'setting' };
  }
  const active = inputs.pythonExtension?.trim();
  if (active) {
    return { command: active, source: 'python extension' };
  }
  return { command: inputs.platform === 'win32' ? 'python' : 'python3', source: 'default' };
}

/**
 * A setting's path made usable: `${workspaceFolder}`, `${userHome}` and a leading `~`
 * expanded; a relative path with a folder part taken relative to the workspace folder.
 * A bare name (`python3.11`) stays a name, to be looked up on PATH.
 */
export function expandPath(
  value: string,
  workspaceFolder: string | undefined,
  home: string,
  platform: NodeJS.Platform,
): string {
  const paths = platform === 'win32' ? path.win32 : path.posix;
  let expanded = value.replace(/\$\{userHome\}/g, home);
  if (workspaceFolder !== undefined) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  if (expanded === '~' || expanded.startsWith('~/') || expanded.startsWith('~\\')) {
    expanded = paths.join(home, expanded.slice(1));
  }
  const hasFolderPart = expanded.includes('/') || (platform === 'win32' && expanded.includes('\\'));
  if (hasFolderPart && !paths.isAbsolute(expanded) && workspaceFolder !== undefined) {
    expanded = paths.resolve(workspaceFolder, expanded);
  }
  return expanded;
}

/** The arguments of the check that the interpreter can import nnevolve (the workspace not on sys.path). */
export const IMPORT_CHECK_ARGS: readonly string[] = launch.importCheck;

/** The arguments that start the language server (the workspace not on sys.path). */
export const SERVER_ARGS: readonly string[] = launch.server;

/**
 * The working folder of the server and of the import check: the extension's own folder
 * (the bundle's), never the workspace, so nothing there is found as a module.
 */
export const SERVER_CWD: string = __dirname;

/**
 * What the server is told at start: evolving runs workspace code, so it needs trust; and
 * whether it keeps an engine started ahead (a run's failure within seconds, for its memory).
 */
export function initializationOptions(
  workspaceTrusted: boolean,
  prestartEngine: boolean,
): { workspaceTrusted: boolean; prestartEngine: boolean } {
  return { workspaceTrusted, prestartEngine };
}

export type CheckResult =
  | { ok: true }
  | { ok: false; problem: 'not found' | 'not installed' | 'broken'; detail: string };

/** What the import check's outcome means, from how the process ended. */
export function classifyCheck(outcome: {
  spawnError?: string; // e.g. ENOENT, EACCES, ETIMEDOUT
  exitCode: number | null;
  stderr: string;
}): CheckResult {
  if (outcome.spawnError === 'ENOENT' || outcome.spawnError === 'EACCES') {
    return { ok: false, problem: 'not found', detail: outcome.spawnError };
  }
  if (outcome.spawnError) {
    return { ok: false, problem: 'broken', detail: `it did not answer (${outcome.spawnError})` };
  }
  if (outcome.exitCode === 0) {
    return { ok: true };
  }
  const lines = outcome.stderr.trim().split(/\r?\n/);
  const last = lines[lines.length - 1] ?? '';
  if (/No module named '?nnevolve'?$/.test(last)) {
    return { ok: false, problem: 'not installed', detail: last };
  }
  return { ok: false, problem: 'broken', detail: last || `exit status ${outcome.exitCode}` };
}

const SOURCE_WORDS: Record<InterpreterSource, string> = {
  setting: 'set in nnevolve.pythonPath',
  'python extension': "the Python extension's active interpreter",
  default: 'the default; set nnevolve.pythonPath to choose another',
};

/** The one notification shown when the server cannot start. */
export function checkFailureMessage(interpreter: Interpreter, result: Exclude<CheckResult, { ok: true }>): string {
  const who = `${interpreter.command} (${SOURCE_WORDS[interpreter.source]})`;
  switch (result.problem) {
    case 'not found':
      return `NN Evolve: the Python interpreter ${who} was not found. Set nnevolve.pythonPath to a Python that has nnevolve installed.`;
    case 'not installed':
      return `NN Evolve: nnevolve is not installed in ${who}. Install it there, or set nnevolve.pythonPath to a Python that has it.`;
    case 'broken':
      return `NN Evolve: ${who} cannot import nnevolve: ${result.detail}. Reinstall it there, or set nnevolve.pythonPath to another Python.`;
  }
}

/** Quote one argument for the integrated terminal's shell (POSIX shells; PowerShell on Windows). */
export function shellQuote(arg: string, platform: NodeJS.Platform): string {
  if (platform === 'win32') {
    return `"${arg.replace(/"/g, '`"')}"`;
  }
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The terminal command that installs nnevolve into `python`.
 *
 * @param projectFolder a workspace folder holding nnevolve's own source (its pyproject.toml
 *   names the project `nnevolve`): installed editable from there instead of from PyPI
 */
export function installCommand(python: string, platform: NodeJS.Platform, projectFolder?: string): string {
  const run = platform === 'win32' ? `& ${shellQuote(python, platform)}` : shellQuote(python, platform);
  const target = projectFolder === undefined ? 'nnevolve' : `-e ${shellQuote(projectFolder, platform)}`;
  return `${run} -m pip install ${target}`;
}

/** Whether a pyproject.toml's text is nnevolve's own (so it can be installed from there). */
export function isNnevolveProject(pyprojectText: string): boolean {
  const project = /^\[project\]\s*$([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(pyprojectText);
  return project !== null && /^name\s*=\s*["']nnevolve["']\s*$/m.test(project[1] ?? '');
}
