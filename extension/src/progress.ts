/**
 * The server's work-done progress (an evolution run) as a cancellable notification.
 *
 * vscode-languageclient shows server progress only as a status-bar spinner with no cancel
 * button, so the extension answers `window/workDoneProgress/create` itself: each run gets
 * a notification with Cancel, and its state is kept for the status-bar item and the
 * "Cancel run" command. The handler is installed by a client feature, which the client
 * initializes after its own progress feature on every (re)start, so ours is the one in use.
 */
import * as vscode from 'vscode';
import {
  FeatureState,
  LanguageClient,
  ProgressToken,
  StaticFeature,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressCancelNotification,
  WorkDoneProgressCreateRequest,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';

/** One run as the user sees it. */
export interface ActiveRun {
  token: ProgressToken;
  title: string;
  message: string | undefined;
  percentage: number | undefined;
  cancellable: boolean;
  cancelling: boolean;
}

interface Tracked {
  run: ActiveRun;
  client: LanguageClient;
  hidden: boolean; // cancelled by the user: no longer shown, its summary still to come
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
  reported: number; // percentage already shown: VS Code takes increments
  finish?: () => void;
  listener: vscode.Disposable;
}

export class RunProgress implements vscode.Disposable {
  private readonly runs = new Map<ProgressToken, Tracked>();
  private readonly changed = new vscode.EventEmitter<readonly ActiveRun[]>();
  private readonly ended = new vscode.EventEmitter<{ title: string; message: string | undefined }>();
  /** Fires whenever a run starts, reports or ends. */
  readonly onDidChange = this.changed.event;
  /** Fires when a run ends, with the server's summary. */
  readonly onDidEnd = this.ended.event;

  constructor(private readonly output: vscode.LogOutputChannel) {}

  /** The client feature that routes a client's progress here; register it before `start()`. */
  featureFor(client: LanguageClient): StaticFeature {
    return {
      fillClientCapabilities: () => undefined, // the client's own progress feature declares the capability
      initialize: () => {
        client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => this.track(client, token));
      },
      getState: (): FeatureState => ({ kind: 'static' }),
      clear: () => this.forget(client),
    };
  }

  active(): ActiveRun[] {
    return [...this.runs.values()].filter((tracked) => !tracked.hidden).map((tracked) => tracked.run);
  }

  /** Whether `token` is a run this window shows (not yet cancelled or ended). */
  isActive(token: ProgressToken): boolean {
    const tracked = this.runs.get(token);
    return tracked !== undefined && !tracked.hidden;
  }

  /** Ask the server to stop a run (it keeps what was evaluated). */
  async cancel(token: ProgressToken): Promise<void> {
    const tracked = this.runs.get(token);
    if (!tracked || tracked.run.cancelling) {
      return;
    }
    tracked.run.cancelling = true;
    this.output.info(`cancelling: ${tracked.run.title}`);
    // the user sees the stop at once: its notification and status-bar item go before the
    // request is even sent, and the server's summary of what the run kept follows once its
    // engine has stopped (`end`)
    tracked.hidden = true;
    tracked.finish?.();
    this.changed.fire(this.active());
    await tracked.client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
  }

  /** End every run of a client that stopped: its progress will never end by itself. */
  private forget(client: LanguageClient): void {
    for (const [token, tracked] of this.runs) {
      if (tracked.client === client) {
        this.finish(token);
      }
    }
  }

  private track(client: LanguageClient, token: ProgressToken): void {
    if (this.runs.has(token)) {
      return;
    }
    const listener = client.onProgress(WorkDoneProgress.type, token, (value) => {
      switch (value.kind) {
        case 'begin':
          this.begin(token, value);
          break;
        case 'report':
          this.report(token, value);
          break;
        case 'end':
          this.end(token, value);
          break;
      }
    });
    this.runs.set(token, {
      run: { token, title: 'NN Evolve', message: undefined, percentage: undefined, cancellable: false, cancelling: false },
      client,
      hidden: false,
      reported: 0,
      listener,
    });
  }

  private begin(token: ProgressToken, value: WorkDoneProgressBegin): void {
    const tracked = this.runs.get(token);
    if (!tracked) {
      return;
    }
    this.output.info(`run started: ${value.title}${value.message ? ` · ${value.message}` : ''}`);
    if (tracked.hidden) {
      return; // cancelled before it began: nothing to show
    }
    Object.assign(tracked.run, {
      title: value.title,
      message: value.message,
      percentage: value.percentage,
      cancellable: value.cancellable === true,
    });
    this.changed.fire(this.active());
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `NN Evolve: ${value.title}`, cancellable: value.cancellable },
      (progress, cancellation) =>
        new Promise<void>((resolve) => {
          tracked.progress = progress;
          tracked.finish = resolve;
          cancellation.onCancellationRequested(() => void this.cancel(token));
          this.show(tracked, value.message, value.percentage);
        }),
    );
  }

  private report(token: ProgressToken, value: WorkDoneProgressReport): void {
    const tracked = this.runs.get(token);
    if (!tracked) {
      return;
    }
    tracked.run.message = value.message ?? tracked.run.message;
    tracked.run.percentage = value.percentage ?? tracked.run.percentage;
    if (value.cancellable !== undefined) {
      tracked.run.cancellable = value.cancellable;
    }
    this.show(tracked, value.message, value.percentage);
    this.changed.fire(this.active());
  }

  private end(token: ProgressToken, value: WorkDoneProgressEnd): void {
    const tracked = this.runs.get(token);
    if (tracked) {
      const title = tracked.run.title;
      this.output.info(`run ended: ${title}${value.message ? ` · ${value.message}` : ''}`);
      this.finish(token);
      this.ended.fire({ title, message: value.message });
    }
  }

  private show(tracked: Tracked, message: string | undefined, percentage: number | undefined): void {
    if (!tracked.progress) {
      return;
    }
    const shownMessage = tracked.run.cancelling ? 'cancelling…' : message;
    if (percentage === undefined) {
      tracked.progress.report({ message: shownMessage });
      return;
    }
    const clamped = Math.max(0, Math.min(100, percentage));
    const increment = Math.max(0, clamped - tracked.reported);
    tracked.reported += increment;
    tracked.progress.report({ message: shownMessage, increment });
  }

  private finish(token: ProgressToken): void {
    const tracked = this.runs.get(token);
    if (!tracked) {
      return;
    }
    this.runs.delete(token);
    tracked.listener.dispose();
    tracked.finish?.();
    this.changed.fire(this.active());
  }

  dispose(): void {
    for (const token of [...this.runs.keys()]) {
      this.finish(token);
    }
    this.changed.dispose();
    this.ended.dispose();
  }
}
