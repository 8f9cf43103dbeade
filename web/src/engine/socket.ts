// SPDX-License-Identifier: Apache-2.0
// A browser WebSocket as the federated driver's Connection: binary frames as ArrayBuffers in and
// out, one onClose with a readable reason however the socket ends.
import type { Connect, Connection, ConnectionHandlers } from './federated';
import { messageOf } from './runtime';

/** Close reasons are limited to 123 bytes by the WebSocket API. */
function shortReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  return bytes.length <= 123 ? reason : new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '') + '...';
}

export const connectWebSocket: Connect = (url: string, handlers: ConnectionHandlers): Connection => {
  let closed = false;
  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    handlers.onClose(reason);
  };
  let ws: WebSocket;
  try {
    ws = new WebSocket(url);
  } catch (e) {
    // A malformed URL throws synchronously; report it like any failed connection.
    setTimeout(() => finish(messageOf(e)), 0);
    return { send() {}, close() {}, bufferedAmount: () => 0 };
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => handlers.onOpen();
  ws.onmessage = (event: MessageEvent) => {
    if (closed) return;
    if (event.data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(event.data));
    // Text frames are not part of the protocol; the machine never sees them.
  };
  ws.onerror = () => {
    // The close event that follows carries the code; nothing to add here.
  };
  ws.onclose = (event: CloseEvent) => {
    const why = event.reason ? `: ${event.reason}` : '';
    finish(`connection closed (code ${event.code}${why})`);
  };
  return {
    send(bytes: Uint8Array) {
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
    },
    close(reason: string) {
      if (closed) return;
      closed = true; // our own close: no onClose
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000, shortReason(reason));
    },
    bufferedAmount: () => ws.bufferedAmount,
  };
};
