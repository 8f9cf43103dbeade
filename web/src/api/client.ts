// SPDX-License-Identifier: Apache-2.0
// The server's HTTP API (docs/server.md), same origin as the app.
import type { TaskJson } from '../engine/protocol';
import { messageOf } from '../engine/runtime';
import { ApiError, parseApiError } from './errors';

export interface RoundStatus {
  round: number;
  contributions: number;
  loss: number | null;
  accuracy: number | null;
}

export interface TaskStatus {
  phase: string;
  round: number;
  n_rounds: number;
  rounds_completed: number;
  joined: number;
  min_participants: number;
  rounds: RoundStatus[];
}

async function request(path: string, init?: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `The server is unreachable (${messageOf(e)})`);
  }
  if (!res.ok) {
    const info = parseApiError(res.status, await res.text().catch(() => ''));
    throw new ApiError(info.status, info.message, info.field);
  }
  return res;
}

export async function getTasks(): Promise<TaskJson[]> {
  const j = (await (await request('/api/tasks')).json()) as unknown;
  if (!Array.isArray(j)) throw new ApiError(500, 'The server sent a task list that is not a list');
  return j as TaskJson[];
}

export async function getTask(id: string): Promise<TaskJson> {
  return (await (await request(`/api/tasks/${encodeURIComponent(id)}`)).json()) as TaskJson;
}

export async function getTaskStatus(id: string): Promise<TaskStatus> {
  return (await (await request(`/api/tasks/${encodeURIComponent(id)}/status`)).json()) as TaskStatus;
}

/** The latest global model (safetensors) and its round when the server says it. */
export async function getGlobalModel(id: string): Promise<{ bytes: ArrayBuffer; round: number | null }> {
  const res = await request(`/api/tasks/${encodeURIComponent(id)}/model`);
  const r = res.headers.get('X-Disco-Round');
  return { bytes: await res.arrayBuffer(), round: r !== null && /^\d+$/.test(r) ? Number(r) : null };
}

export async function createTask(task: TaskJson, joinToken?: string): Promise<TaskJson> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (joinToken) headers['X-Join-Token'] = joinToken;
  const res = await request('/api/tasks', { method: 'POST', headers, body: JSON.stringify(task) });
  return (await res.json()) as TaskJson;
}

/** The federated socket URL of a task on this page's server. */
export function socketUrl(id: string, loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws/${encodeURIComponent(id)}`;
}
