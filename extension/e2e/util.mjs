// Small helpers of the end-to-end driver: logging, polling, readable errors.

export function log(message) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** An error's message without playwright's call log and colour codes. */
export function shortMessage(error) {
  return String(error?.message ?? error)
    .split('\nCall log:')[0]
    .replace(/\u001b\[[0-9;]*m/g, '')
    .trim();
}

/** Call `check` until it answers `{ ok: true }`; otherwise fail with its last `why`. */
export async function poll(what, check, timeoutMs, intervalMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last.ok) {
      return last;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what} (after ${timeoutMs / 1000} s): ${last?.why ?? 'no result'}`);
}
