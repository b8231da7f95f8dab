/**
 * Starting, restarting and stopping the language server (`python -m nnevolve.lsp`).
 *
 * Restarts are queued so that a settings change and an interpreter change arriving together
 * give one clean restart, never two servers.
 */
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  ErrorHandler,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  ServerOptions,
  State,
  StaticFeature,
} from 'vscode-languageclient/node';

import { initializationOptions, SERVER_ARGS, SERVER_CWD } from './interpreter';
import { PythonEnvironment, SetupAdvice } from './python';
import { RestartPolicy, startFailureMessage } from './restarts';

export const CLIENT_ID = 'nnevolve';
const CLIENT_NAME = 'NN Evolve';

/**
 * A language client that keeps quiet while its server starts: vscode-languageclient would
 * add its own notifications to ours for one failed start ("couldn't create connection").
 */
class NnevolveClient extends LanguageClient {
  reachedRunning = false;

  override error(message: string, data?: unknown, showNotification?: boolean | 'force'): void {
    super.error(message, data, this.reachedRunning ? showNotification : false);
  }
}

export class LanguageServer implements vscode.Disposable {
  private current: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly started = new vscode.EventEmitter<LanguageClient>();
  /** Fires when a client is running (after every start or restart). */
  readonly onDidStart = this.started.event;

  constructor(
    private readonly python: PythonEnvironment,
    private readonly advice: SetupAdvice,
    private readonly output: vscode.LogOutputChannel,
    private readonly middleware: Middleware,
    private readonly features: (client: LanguageClient) => StaticFeature[],
  ) {}

  /** The running client, if the server is up. */
  get client(): LanguageClient | undefined {
    return this.current?.isRunning() ? this.current : undefined;
  }

  /** Stop the server if it runs and start it again with the interpreter chosen now. */
  restart(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.restartNow(reason)).catch((error: unknown) => {
      this.output.error(`restart failed: ${String(error)}`);
    });
    return this.queue;
  }

  private async restartNow(reason: string): Promise<void> {
    this.output.info(`starting the language server (${reason})`);
    await this.stopNow();
    const interpreter = await this.python.resolve();
    const check = await this.python.check(interpreter);
    if (!check.ok) {
      this.output.warn(`not starting: ${interpreter.command} (${interpreter.source}): ${check.problem}: ${check.detail}`);
      void this.advice.show(interpreter, check);
      return;
    }
    this.output.info(`interpreter: ${interpreter.command} (${interpreter.source})`);
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      args: [...SERVER_ARGS],
      // no `transport`: with TransportKind.stdio the client would append `--stdio` to the arguments
      options: { cwd: SERVER_CWD, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const describeServer = `${interpreter.command} (nnevolve.lsp)`;
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
      ],
      outputChannel: this.output,
      // in Restricted Mode the server offers marks and hovers only (evolving runs workspace code)
      initializationOptions: initializationOptions(
        vscode.workspace.isTrusted,
        vscode.workspace.getConfiguration('nnevolve').get<boolean>('prestartEngine', true),
      ),
      middleware: this.middleware,
      errorHandler: this.errorHandler(() => client.reachedRunning),
      // a failed start is reported once, below: no second notification
      initializationFailedHandler: (error) => {
        this.output.error(`the language server failed to initialize: ${String(error)}`);
        return false;
      },
    };
    const client = new NnevolveClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    client.onDidChangeState(({ newState }) => {
      client.reachedRunning ||= newState === State.Running;
    });
    this.features(client).forEach((feature) => client.registerFeature(feature));
    this.current = client;
    try {
      await client.start();
    } catch (error) {
      this.output.error(`the language server did not start: ${String(error)}`);
      this.current = undefined;
      void this.reportStartFailure(describeServer);
      return;
    }
    this.started.fire(client);
  }

  private async reportStartFailure(describeServer: string): Promise<void> {
    const show = 'Show output';
    if ((await vscode.window.showErrorMessage(startFailureMessage(describeServer), show)) === show) {
      this.output.show(true);
    }
  }

  /** One notification when the server cannot run, instead of a restart loop of them. */
  private errorHandler(reachedRunning: () => boolean): ErrorHandler {
    const policy = new RestartPolicy();
    return {
      error: (_error, _message, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
      closed: () => {
        const decision = policy.closed(reachedRunning());
        if (decision.restart) {
          return { action: CloseAction.Restart, handled: true };
        }
        return decision.message === undefined
          ? { action: CloseAction.DoNotRestart, handled: true }
          : { action: CloseAction.DoNotRestart, message: decision.message };
      },
    };
  }

  private async stopNow(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    if (!client) {
      return;
    }
    try {
      await client.stop(5_000);
    } catch (error) {
      this.output.warn(`the language server did not stop cleanly: ${String(error)}`);
    }
  }

  /** Stop the server (on deactivation). */
  stop(): Promise<void> {
    this.queue = this.queue.then(() => this.stopNow());
    return this.queue;
  }

  dispose(): void {
    void this.stop();
    this.started.dispose();
  }
}
