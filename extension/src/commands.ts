/**
 * The commands of the palette and the code lens: evolve, show results, cancel a run,
 * toggle line marks, restart the server.
 */
import * as vscode from 'vscode';
import { ExecuteCommandRequest, LSPErrorCodes, type LanguageClient, type Middleware } from 'vscode-languageclient/node';

import type { LanguageServer } from './client';
import type { LineMarks } from './decorations';
import type { RunProgress } from './progress';
import type { SetupAdvice } from './python';
import type { ResultsPanel } from './results/panel';
import { endsWithResults } from './runWords';
import { overridesFromSettings, withSettingOverrides, type OverridesResult } from './settings';
import { SHOW_RUN_PROGRESS_COMMAND } from './status';

export const EVOLVE_SERVER_COMMAND = 'nnevolve.evolve';
/** The server's cancel, the command of a running class's code lens: `{ uri, token }`. */
export const CANCEL_SERVER_COMMAND = 'nnevolve.cancel';

export interface CommandDeps {
  server: LanguageServer;
  marks: LineMarks;
  progress: RunProgress;
  results: ResultsPanel;
  advice: SetupAdvice;
  output: vscode.LogOutputChannel;
}

/** The overrides of a run on `resource`, from the settings the user set explicitly. */
export function settingOverrides(resource: vscode.Uri | undefined): OverridesResult {
  const configuration = vscode.workspace.getConfiguration('nnevolve', resource);
  return overridesFromSettings((key) => configuration.inspect(key));
}

function warnAbout(problems: readonly string[]): void {
  if (problems.length > 0) {
    void vscode.window.showWarningMessage(`NN Evolve: ${problems.join(' ')}`);
  }
}

/** Tracks which document was evolved last, for "Show results" after a run ends. */
export class Evolution {
  lastDocument: vscode.Uri | undefined;

  constructor(
    private readonly getClient: () => LanguageClient | undefined,
    private readonly results: ResultsPanel,
    private readonly output: vscode.LogOutputChannel,
    private readonly progress: RunProgress,
  ) {}

  /**
   * Middleware for `nnevolve.evolve` sent by other routes (the server's code lens): the
   * settings' overrides go along, below any the caller passed. The lens's `nnevolve.cancel`
   * names the run's progress: it is cancelled as the notification's Cancel does (its
   * notification and status-bar item go at once), not through a second route.
   */
  middleware(): Middleware {
    // while the server restarts (another interpreter), VS Code still asks the old client for
    // lenses, tokens and hints: answering nothing avoids a "Request ... failed" toast each time
    const running = () => this.getClient() !== undefined;
    return {
      provideCodeLenses: (document, token, next) => (running() ? next(document, token) : []),
      provideDocumentSemanticTokens: (document, token, next) =>
        running() ? next(document, token) : undefined,
      provideDocumentSemanticTokensEdits: (document, previous, token, next) =>
        running() ? next(document, previous, token) : undefined,
      provideDocumentRangeSemanticTokens: (document, range, token, next) =>
        running() ? next(document, range, token) : undefined,
      provideInlayHints: (document, range, token, next) =>
        running() ? next(document, range, token) : [],
      executeCommand: async (command, args, next) => {
        if (command === CANCEL_SERVER_COMMAND) {
          const token = progressTokenOf(args[0]);
          if (token !== undefined && this.progress.isActive(token)) {
            await this.progress.cancel(token);
            return { cancelled: true };
          }
          return next(command, args); // a run this window shows no progress of
        }
        if (command !== EVOLVE_SERVER_COMMAND || args.length === 0) {
          return next(command, args);
        }
        const uri = (args[0] as { uri?: unknown } | null)?.uri;
        const resource = typeof uri === 'string' ? vscode.Uri.parse(uri) : undefined;
        const { overrides, problems } = settingOverrides(resource);
        warnAbout(problems);
        this.lastDocument = resource ?? this.lastDocument;
        return next(command, [withSettingOverrides(args[0], overrides), ...args.slice(1)]);
      },
    };
  }

  /** "NN Evolve: Evolve this network" on the active editor (or a given file / model). */
  async evolve(target?: unknown): Promise<void> {
    const { document, model } = await evolveTarget(target);
    if (!document) {
      void vscode.window.showWarningMessage('NN Evolve: open a Python file with a PyTorch model to evolve it.');
      return;
    }
    const client = this.getClient();
    if (!client) {
      const restart = 'Restart server';
      const answer = await vscode.window.showErrorMessage(
        'NN Evolve: the language server is not running, so nothing can be evolved. See the "NN Evolve" output.',
        restart,
      );
      if (answer === restart) {
        await vscode.commands.executeCommand('nnevolve.restartServer');
      }
      return;
    }
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (!commands.includes(EVOLVE_SERVER_COMMAND)) {
      void vscode.window.showErrorMessage(
        'NN Evolve: this nnevolve server cannot evolve networks (it offers no "nnevolve.evolve" command). Update nnevolve in the interpreter it runs in.',
      );
      return;
    }
    const { overrides, problems } = settingOverrides(document.uri);
    warnAbout(problems);
    this.lastDocument = document.uri;
    const args = { uri: document.uri.toString(), ...(model ? { model } : {}), overrides };
    this.output.info(`evolve ${JSON.stringify(args)}`);
    try {
      await client.sendRequest(ExecuteCommandRequest.type, { command: EVOLVE_SERVER_COMMAND, arguments: [args] });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== LSPErrorCodes.RequestCancelled) {
        void vscode.window.showErrorMessage(`NN Evolve: ${error instanceof Error ? error.message : String(error)}`);
      }
    } finally {
      void this.results.refreshIfShowing(document.uri);
    }
  }
}

/** The progress token a lens's cancel names (`{ uri, token }`). */
function progressTokenOf(argument: unknown): string | number | undefined {
  const token = (argument as { token?: unknown } | null | undefined)?.token;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/** The document (and model class) a command was invoked on. */
async function evolveTarget(target: unknown): Promise<{ document?: vscode.TextDocument; model?: string }> {
  let uri: vscode.Uri | undefined;
  let model: string | undefined;
  if (target instanceof vscode.Uri) {
    uri = target;
  } else if (typeof target === 'object' && target !== null) {
    const given = target as { uri?: unknown; model?: unknown };
    uri = typeof given.uri === 'string' ? vscode.Uri.parse(given.uri) : given.uri instanceof vscode.Uri ? given.uri : undefined;
    model = typeof given.model === 'string' ? given.model : undefined;
  }
  if (uri) {
    return { document: await vscode.workspace.openTextDocument(uri), model };
  }
  const editor = vscode.window.activeTextEditor;
  return { document: editor?.document.languageId === 'python' ? editor.document : undefined, model };
}

function activePythonDocument(): vscode.Uri | undefined {
  const document = vscode.window.activeTextEditor?.document;
  return document?.languageId === 'python' ? document.uri : undefined;
}

export function registerCommands(deps: CommandDeps, evolution: Evolution): vscode.Disposable[] {
  const { server, marks, progress, results } = deps;

  const showResults = async (target?: unknown) => {
    const uri = target instanceof vscode.Uri ? target : (activePythonDocument() ?? evolution.lastDocument);
    if (!uri) {
      void vscode.window.showWarningMessage('NN Evolve: open a Python model file to see the results of its runs.');
      return;
    }
    await results.show(uri);
  };

  const cancelRun = async () => {
    const runs = progress.active();
    if (runs.length === 0) {
      void vscode.window.showInformationMessage('NN Evolve: no run is active.');
      return;
    }
    const run =
      runs.length === 1
        ? runs[0]
        : (
            await vscode.window.showQuickPick(
              runs.map((r) => ({ label: r.title, description: r.message, run: r })),
              { placeHolder: 'Which run should stop?' },
            )
          )?.run;
    if (run) {
      await progress.cancel(run.token);
    }
  };

  const showRunProgress = async () => {
    const run = progress.active()[0];
    if (!run) {
      return;
    }
    const cancel = 'Cancel run';
    const show = 'Show results';
    const answer = await vscode.window.showInformationMessage(
      `NN Evolve: ${run.title}${run.message ? ` · ${run.message}` : ''}`,
      ...(run.cancellable && !run.cancelling ? [cancel, show] : [show]),
    );
    if (answer === cancel) {
      await progress.cancel(run.token);
    } else if (answer === show) {
      await showResults(evolution.lastDocument);
    }
  };

  return [
    vscode.commands.registerCommand('nnevolve.evolveActive', (target?: unknown) => evolution.evolve(target)),
    vscode.commands.registerCommand('nnevolve.showResults', showResults),
    vscode.commands.registerCommand('nnevolve.cancelRun', cancelRun),
    vscode.commands.registerCommand(SHOW_RUN_PROGRESS_COMMAND, showRunProgress),
    vscode.commands.registerCommand('nnevolve.toggleLineMarks', () => {
      const shown = marks.toggle();
      vscode.window.setStatusBarMessage(`NN Evolve: line marks ${shown ? 'shown' : 'hidden'}`, 2500);
    }),
    vscode.commands.registerCommand('nnevolve.restartServer', () => {
      deps.advice.reset(); // asked for explicitly: explain again what is missing
      return server.restart('restart requested');
    }),
    progress.onDidEnd(async ({ message }) => {
      void results.refreshIfShowing();
      if (!endsWithResults(message)) {
        return; // a failure: the server's error message is the one notification
      }
      const show = 'Show results';
      if ((await vscode.window.showInformationMessage(`NN Evolve: ${message}`, show)) === show) {
        await showResults(evolution.lastDocument);
      }
    }),
  ];
}
