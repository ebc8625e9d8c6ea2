/**
 * The dialler workload bench:ingest and bench:ingest-cost push: one organization, its agents, an integration user
 * and contacts spread over the agents (made over HTTP), and the calls of the status mix below.
 */
import { randomUUID } from 'node:crypto';
import { JsonClient } from './http-client';
import { envInt, withScratchDatabase } from './lib';
import { runJson, startServer } from './server';

export const MIX = ['Called', 'Called', 'Called', 'Called', 'Busy', 'Busy', 'No Answer', 'No Answer', 'Missed', 'Follow up', 'Rescheduled'] as const;

export interface World {
  contacts: { id: string; agentId: string }[];
  /** The integration user's API key: what the dialler pushes with. */
  diallerKey: string;
}

/** The i-th pushed call: contacts in a fixed order (7919 is prime to the contact count), statuses in the mix. */
export function pushedCall(world: Pick<World, 'contacts'>, i: number): Record<string, unknown> {
  return callBody(world.contacts[(i * 7919) % world.contacts.length], i);
}

/** The body of the i-th call of the mix, for this contact (and its agent). */
export function callBody(contact: { id: string; agentId: string }, i: number): Record<string, unknown> {
  const status = MIX[i % MIX.length];
  const body: Record<string, unknown> = {
    callId: randomUUID(),
    contactId: contact.id,
    agentId: contact.agentId,
    direction: status === 'Missed' ? 'inbound' : 'outbound',
    status,
    durationSec: status === 'Called' || status === 'Follow up' || status === 'Rescheduled' ? 30 + (i % 600) : 0,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    note: i % 3 === 0 ? 'Asked to call back after lunch, prefers WhatsApp for the quote.' : undefined,
    tags: ['q4'],
  };
  if (status === 'Called' && i % 2 === 0) body.leadStatus = 'Interested';
  if (status === 'Follow up') body.followUp = { scheduledAt: new Date(Date.now() + 86_400_000).toISOString(), notes: 'send pricing' };
  if (status === 'Rescheduled') {
    body.callbackAt = new Date(Date.now() + 3_600_000).toISOString();
    body.reason = 'in a meeting';
  }
  return body;
}

/** Agents, the dialler's integration user and the contacts, through the API as an admin. */
export async function buildWorld(admin: JsonClient, contacts: number, agents: number): Promise<World> {
  const agentIds: string[] = [];
  for (let a = 0; a < agents; a++) agentIds.push((await admin.request('POST', '/api/users', { name: `Agent ${a}`, role: 'agent' })).body.id);
  const dialler = await admin.request('POST', '/api/users', { name: 'Dialler', role: 'integration' });
  const world: World = { contacts: [], diallerKey: dialler.body.apiKey };
  for (let c = 0; c < contacts; c += 32) {
    const made = await Promise.all(
      Array.from({ length: Math.min(32, contacts - c) }, (_, k) =>
        admin.request('POST', '/api/contacts', { name: `Lead ${c + k}`, phone: `+1415555${String(c + k).padStart(4, '0')}`, assignedAgentId: agentIds[(c + k) % agents] }),
      ),
    );
    for (const m of made) {
      if (m.status !== 201) throw new Error(`contact: ${m.status} ${JSON.stringify(m.body)}`);
      world.contacts.push({ id: m.body.id, agentId: m.body.assignedAgentId });
    }
  }
  return world;
}

/**
 * A scratch database, one organization made by the CLI, the service on it (API and workers; the API alone with
 * BENCH_API_ONLY) and the dialler's world: what bench:ingest and bench:ingest-cost run on. Everything is stopped and
 * dropped after `run`, also when it throws.
 */
export async function withDiallerService(
  contacts: number,
  agents: number,
  run: (s: { databaseUrl: string; databaseName: string; orgId: string; server: Awaited<ReturnType<typeof startServer>>; world: World }) => Promise<void>,
): Promise<void> {
  await withScratchDatabase(async (scratch) => {
    const env = { DATABASE_URL: scratch.url, QUEUE_PREFIX: scratch.name, PG_POOL_SIZE: String(envInt('BENCH_SERVER_POOL', 24)) };
    const org = await runJson('apps/cli/src/main.ts', ['org:create', '--name', 'Bench'], env);
    const server = await startServer(env, process.env.BENCH_API_ONLY ? ['--api-only'] : []);
    const admin = new JsonClient(server.url, org.adminKey, 32);
    try {
      const world = await buildWorld(admin, contacts, agents);
      await run({ databaseUrl: scratch.url, databaseName: scratch.name, orgId: org.orgId, server, world });
    } finally {
      admin.close();
      await server.stop();
    }
  });
}
