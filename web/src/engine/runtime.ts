// SPDX-License-Identifier: Apache-2.0
// Small event-loop helpers of the training worker: yielding between training steps so `stop` and
// socket messages are handled, and throttling progress events. No knowledge of training here.

/** Milliseconds on a monotonic clock (performance.now() in browsers and node). */
export type Clock = () => number;
export const monotonic: Clock = () => performance.now();

/** Resolves after `ms` (0: on the next turn of the event loop, after pending messages). */
export function pause(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `step` until it returns false, yielding to the event loop every `sliceMs` so messages
 * (stop, socket frames, timers) are processed mid-epoch, and stopping early when `cancelled()`.
 * Returns true when `step` finished, false when cancelled.
 */
export async function runSliced(step: () => boolean, cancelled: () => boolean, clock: Clock = monotonic, sliceMs = 50): Promise<boolean> {
  let sliceStart = clock();
  while (true) {
    if (cancelled()) return false;
    if (!step()) return true;
    if (clock() - sliceStart >= sliceMs) {
      await pause();
      sliceStart = clock();
    }
  }
}

/** True at most once per interval (the first call passes). */
export class Throttle {
  private last = -Infinity;
  constructor(
    private readonly intervalMs: number,
    private readonly clock: Clock = monotonic,
  ) {}
  ready(): boolean {
    const now = this.clock();
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }
}

/** The message of any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
