// SPDX-License-Identifier: Apache-2.0
// Text formatting for the UI: percentages, sizes, dates and status messages.
import type { EngineEvent } from '../engine/protocol';

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits).replace(/\.0+$/, '')}%`;
}

export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Number(v.toPrecision(digits)).toString();
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDate(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A compact timestamp for file names: 20250131-142501. */
export function fileStamp(ms: number): string {
  return formatDate(ms).replace(/[-:]/g, '').replace(' ', '-') + String(new Date(ms).getSeconds()).padStart(2, '0');
}

type StatusEvent = Extract<EngineEvent, { type: 'status' }>;

/** The sentence shown in the status live region for a status event: the engine's own sentence
 *  (capitalised), or a default for the phase; endings always read "Training finished/stopped/failed". */
export function formatStatus(e: StatusEvent): string {
  const msg = e.message.trim();
  switch (e.phase) {
    case 'finished':
      return 'Training finished';
    case 'stopped':
      return 'Training stopped';
    case 'failed':
      return `Training failed: ${msg || 'unknown error'}`;
    default:
      break;
  }
  if (msg !== '') return msg[0].toUpperCase() + msg.slice(1);
  const round = e.round && e.nRounds ? ` (round ${e.round} / ${e.nRounds})` : '';
  switch (e.phase) {
    case 'connecting':
      return 'Connecting to the server…';
    case 'waiting':
      return e.participants && e.minParticipants
        ? `Waiting for participants ${e.participants}/${e.minParticipants}`
        : 'Waiting for participants';
    case 'training':
      return `Training${round}…`;
    case 'sending':
      return `Sending the model update${round}…`;
    case 'aggregating':
      return `Waiting for the new global model${round}…`;
    case 'reconnecting':
      return 'Connection lost, reconnecting…';
  }
}

export function formatRound(round: number | undefined, nRounds: number | undefined): string {
  if (!round) return 'Round – / ' + (nRounds ?? '–');
  return `Round ${round} / ${nRounds ?? '–'}`;
}
