// SPDX-License-Identifier: Apache-2.0
// Server errors: `{"error": "<message>", "field": "<dotted path>"}`; when `field` is absent it is
// read from the message prefix ("request body: training.batch_size: must be ...").

export interface ApiErrorInfo {
  status: number;
  message: string;
  /** Dotted path of the offending task field, e.g. "model.layers[2].units". */
  field?: string;
}

export class ApiError extends Error implements ApiErrorInfo {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const FIELD_RE = /^((?:[A-Za-z_][\w]*)(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): /;
const KNOWN_ROOTS = new Set(['id', 'title', 'summary', 'description', 'data', 'model', 'training', 'federation', 'privacy']);

/** The field path at the start of an error message, after an optional "request body: " or
 *  "<file>: " prefix; undefined when the message does not start with a task field. */
export function fieldFromMessage(message: string): string | undefined {
  let rest = message.trim().replace(/^request body: /, '');
  for (let i = 0; i < 3; i++) {
    const m = FIELD_RE.exec(rest);
    if (!m) return undefined;
    const root = m[1].split(/[.[]/)[0];
    if (KNOWN_ROOTS.has(root)) return m[1];
    rest = rest.slice(m[0].length);
  }
  return undefined;
}

/** Builds the error of a failed response from its status and body text. */
export function parseApiError(status: number, body: string): ApiErrorInfo {
  let message = '';
  let field: string | undefined;
  try {
    const j = JSON.parse(body) as unknown;
    if (j && typeof j === 'object') {
      const o = j as Record<string, unknown>;
      if (typeof o.error === 'string') message = o.error;
      if (typeof o.field === 'string' && o.field !== '') field = o.field;
    }
  } catch {
    message = body.trim().slice(0, 300);
  }
  if (message === '') message = `HTTP ${status}`;
  field ??= fieldFromMessage(message);
  return field === undefined ? { status, message } : { status, message, field };
}

/** The message without its "request body: field: " prefix, for showing next to the field. */
export function shortMessage(message: string, field: string | undefined): string {
  if (!field) return message;
  const at = message.indexOf(`${field}: `);
  return at >= 0 ? message.slice(at + field.length + 2) : message;
}
