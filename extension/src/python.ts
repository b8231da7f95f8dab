/**
 * The Python interpreter in VS Code: read the setting and the Python extension's choice,
 * check that nnevolve imports, offer the fix once, and say when the choice changes.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import {
  checkFailureMessage,
  chooseInterpreter,
  classifyCheck,
  CheckResult,
  IMPORT_CHECK_ARGS,
  SERVER_CWD,
  installCommand,
  Interpreter,
  isNnevolveProject,
} from './interpreter';

const PYTHON_EXTENSION_ID = 'ms-python.python';
const CHECK_TIMEOUT_MS = 30_000;

/** The parts of the Python extension's API we read (both its newer and older shapes). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(
      environment: { path: string } | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
    onDidChangeExecutionDetails: vscode.Event<unknown>;
  };
}

/** The interpreter the server should use, and an event when that choice may have changed. */
export class PythonEnvironment implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with a reason when the setting or the Python extension's interpreter changes. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private pythonApi: PythonExtensionApi | undefined;
  private listeningToPythonExtension = false;

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('nnevolve.pythonPath')) {
          this.changed.fire('nnevolve.pythonPath changed');
        }
      }),
    );
  }

  /** The interpreter to use now. */
  async resolve(): Promise<Interpreter> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const setting = vscode.workspace.getConfiguration('nnevolve', folder?.uri).get<string>('pythonPath');
    return chooseInterpreter({
      setting,
      // the Python extension is asked only when the setting does not decide
      pythonExtension: setting?.trim() ? undefined : await this.pythonExtensionInterpreter(folder?.uri),
      workspaceFolder: folder?.uri.fsPath,
      home: os.homedir(),
      platform: process.platform,
    });
  }

  /** Run the import check; never rejects. */
  check(interpreter: Interpreter): Promise<CheckResult> {
    return new Promise((resolve) => {
      execFile(
        interpreter.command,
        IMPORT_CHECK_ARGS,
        { timeout: CHECK_TIMEOUT_MS, cwd: SERVER_CWD },
        (error, _stdout, stderr) => {
          const code = (error as NodeJS.ErrnoException | null)?.code;
          const killed = (error as { killed?: boolean } | null)?.killed;
          resolve(
            classifyCheck({
              spawnError: typeof code === 'string' ? code : killed ? 'ETIMEDOUT' : undefined,
              exitCode: error === null ? 0 : typeof code === 'number' ? code : 1,
              stderr: String(stderr),
            }),
          );
        },
      );
    });
  }

  private async pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
    const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
    if (!extension) {
      return undefined;
    }
    try {
      this.pythonApi ??= extension.isActive ? extension.exports : await extension.activate();
      this.listenToPythonExtension();
      const environments = this.pythonApi?.environments;
      if (environments) {
        const active = environments.getActiveEnvironmentPath(resource);
        const resolved = await environments.resolveEnvironment(active);
        return resolved?.executable.uri?.fsPath ?? active.path;
      }
      return this.pythonApi?.settings?.getExecutionDetails(resource).execCommand?.[0];
    } catch {
      // a broken or older Python extension must not keep the server from starting
      return undefined;
    }
  }

  private listenToPythonExtension(): void {
    if (this.listeningToPythonExtension || !this.pythonApi) {
      return;
    }
    this.listeningToPythonExtension = true;
    const event =
      this.pythonApi.environments?.onDidChangeActiveEnvironmentPath ??
      this.pythonApi.settings?.onDidChangeExecutionDetails;
    if (event) {
      this.disposables.push(event(() => this.changed.fire("the Python extension's interpreter changed")));
    }
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/**
 * Tell the user, once per interpreter and problem, why the server cannot start, with
 * actions that fix it. `afterInstall` runs when the install terminal closes.
 */
export class SetupAdvice implements vscode.Disposable {
  private readonly shown = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly afterInstall: () => void) {}

  /** Forget what was shown, so an explicit restart by the user explains again. */
  reset(): void {
    this.shown.clear();
  }

  async show(interpreter: Interpreter, result: Exclude<CheckResult, { ok: true }>): Promise<void> {
    const key = `${interpreter.command}\u0000${result.problem}`;
    if (this.shown.has(key)) {
      return;
    }
    this.shown.add(key);
    const install = 'Install nnevolve';
    const choose = 'Choose interpreter';
    const actions = result.problem === 'not found' ? [choose] : [install, choose];
    const answer = await vscode.window.showErrorMessage(checkFailureMessage(interpreter, result), ...actions);
    if (answer === install) {
      await this.runInstall(interpreter);
    } else if (answer === choose) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'nnevolve.pythonPath');
    }
  }

  private async runInstall(interpreter: Interpreter): Promise<void> {
    const terminal = vscode.window.createTerminal({ name: 'NN Evolve: install' });
    terminal.show();
    terminal.sendText(installCommand(interpreter.command, process.platform, await nnevolveProjectFolder()));
    const closed = vscode.window.onDidCloseTerminal((which) => {
      if (which === terminal) {
        closed.dispose();
        this.shown.clear();
        this.afterInstall();
      }
    });
    this.disposables.push(closed);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** A workspace folder that holds nnevolve's own source, if one does. */
async function nnevolveProjectFolder(): Promise<string | undefined> {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    try {
      const text = await fs.readFile(path.join(folder.uri.fsPath, 'pyproject.toml'), 'utf8');
      if (isNnevolveProject(text)) {
        return folder.uri.fsPath;
      }
    } catch {
      // no pyproject.toml there
    }
  }
  return undefined;
}
