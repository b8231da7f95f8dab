/**
 * When to restart a language server whose connection closed. Kept free of the `vscode`
 * module so it can be tested in plain Node.
 *
 * A server that dies before it ever answered (an import error, a wrong interpreter) is not
 * restarted: restarting repeats the same error and floods the user with notifications.
 * A server that ran and then crashed is restarted, up to `maxCrashes` times in a window.
 */
export interface CloseDecision {
  restart: boolean;
  message: string | undefined; // shown once to the user when the server stays down
}

/** The one notification for a server that could not start. */
export function startFailureMessage(describeServer: string): string {
  return `NN Evolve: the language server (${describeServer}) stopped while starting. Its error is in the "NN Evolve" output.`;
}

export class RestartPolicy {
  private readonly crashes: number[] = [];

  constructor(
    private readonly maxCrashes = 4,
    private readonly windowMs = 3 * 60_000,
  ) {}

  /**
   * Decide after the connection closed; `reachedRunning` says whether it ever initialized.
   * A failed start has no message here: the caller of `start()` reports it, once.
   */
  closed(reachedRunning: boolean, now: number = Date.now()): CloseDecision {
    if (!reachedRunning) {
      return { restart: false, message: undefined };
    }
    this.crashes.push(now);
    while (this.crashes.length > 0 && now - (this.crashes[0] ?? now) > this.windowMs) {
      this.crashes.shift();
    }
    if (this.crashes.length > this.maxCrashes) {
      return {
        restart: false,
        message: `NN Evolve: the language server crashed ${this.crashes.length} times in ${Math.round(this.windowMs / 60_000)} minutes and stays stopped. Its errors are in the "NN Evolve" output; run "NN Evolve: Restart language server" once they are fixed.`,
      };
    }
    return { restart: true, message: undefined };
  }
}
