import { Response } from 'supertest';
import { bearer, TestApp } from './test-app';

export type HttpMethod = 'get' | 'post' | 'patch';

/** One response a recording client saw, named by its request (`POST /api/calls`). */
export interface SeenResponse {
  req: string;
  status: number;
  body: unknown;
}

export interface RecordingClient {
  /** `method path` with `key` as bearer, sending `body` when one is given. */
  send(method: HttpMethod, path: string, key: string, body?: unknown): Promise<Response>;
  get(path: string, key: string): Promise<Response>;
  post(path: string, key: string, body?: unknown): Promise<Response>;
  patch(path: string, key: string, body: unknown): Promise<Response>;
  /** Every response since the last `expectNo5xx()`. */
  readonly seen: SeenResponse[];
  /** SPEC §9: fails if any response seen was a 5xx (listing them), and starts over. */
  expectNo5xx(): void;
}

/**
 * An HTTP client over the test app (`app` is read on each request, so it can be made before `beforeAll` starts the
 * app) that records every response, to prove none was a 500 (SPEC §9): per test with `installNo5xxGuard`, or, where
 * tests run concurrently and share no `afterEach`, with `throwOn5xx` (the request itself fails) and one final
 * `expectNo5xx()`.
 */
export function recordingClient(app: () => TestApp, options: { throwOn5xx?: boolean } = {}): RecordingClient {
  const seen: SeenResponse[] = [];
  const send = async (method: HttpMethod, path: string, key: string, body?: unknown): Promise<Response> => {
    const req = app().http()[method](path).set(bearer(key));
    const res = body === undefined ? await req : await req.send(body as object);
    const entry: SeenResponse = { req: `${method.toUpperCase()} ${path}`, status: res.status, body: res.body };
    seen.push(entry);
    if (options.throwOn5xx && res.status >= 500) throw new Error(`${entry.req} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res;
  };
  return {
    send,
    get: (path, key) => send('get', path, key),
    post: (path, key, body) => send('post', path, key, body),
    patch: (path, key, body) => send('patch', path, key, body),
    seen,
    expectNo5xx() {
      const failures = seen.filter((s) => s.status >= 500);
      seen.length = 0;
      expect(failures).toEqual([]);
    },
  };
}

/** Checks after each test of the enclosing `describe` that no response the client saw was a 5xx. */
export function installNo5xxGuard(client: Pick<RecordingClient, 'expectNo5xx'>): void {
  afterEach(() => client.expectNo5xx());
}

/**
 * SPEC §9: every error is exactly { statusCode, error, message } as JSON, with a non-empty message (or non-empty
 * messages); `error`, when given, is the status's reason phrase the body must carry.
 */
export function expectError(res: Response, statusCode: number, error?: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: statusCode,
    body: { statusCode, error: error ?? expect.any(String), message: expect.anything() },
  });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const messages = messagesOf(res);
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) expect(typeof m === 'string' && m.length > 0).toBe(true);
}

/** An error body's message as a list (it is a string or a list of strings). */
export const messagesOf = (res: Response): string[] => [res.body.message].flat();

/**
 * The fields error messages name, sorted, once each: each message (or each `; `-separated part of a joined one, as
 * batch results and settings errors have) starts with the path of its field.
 */
export const fieldsOf = (messages: string | string[]): string[] =>
  [
    ...new Set(
      [messages]
        .flat()
        .flatMap((m) => String(m).split('; '))
        .map((m) => m.split(/[ :]/)[0]),
    ),
  ].sort();

/** The fields a 400 names (see `fieldsOf`). */
export const fieldsNamed = (res: Response): string[] => fieldsOf(res.body.message);

/**
 * The fields of a timeline entry's `data` the e2e suites read, typed as the events carry them. Each kind carries some
 * of them (libs/contacts/src/domain/contact.events.ts), and a suite reads a field only on the kinds that have it, after
 * filtering by kind or followUpId; anything else is unknown until a test narrows it.
 */
export interface TimelineData {
  contactId: string;
  followUpId: string;
  callId: string;
  agentId: string | null;
  authorId: string;
  fromAgentId: string | null;
  toAgentId: string;
  assignedAgentId: string | null;
  from: string | null;
  to: string | null;
  at: string;
  attempt: number;
  schedule: number;
  scheduledAt: string;
  until: string;
  retryAt: string | null;
  reason: string;
  cause: { kind: string; callId?: string; callStatus?: string };
  changes: Record<string, unknown>;
  [field: string]: unknown;
}

/** An entry of GET /api/contacts/:id/timeline, as the e2e suites read it. */
export interface TimelineEntry {
  at: string;
  kind: string;
  actorId: string | null;
  data: TimelineData;
  version: number;
}
