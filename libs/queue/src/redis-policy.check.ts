import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RedisOutageLog } from './redis-outage';
import { RedisClient } from './redis.provider';
import { withinMs } from './settled';

/** How long the boot waits for Redis's answer (a refused connection fails at once; a black-holed one would take 10 s). */
const FIRST_ANSWER_MS = 2000;
const RETRY_MS = 1000;

type PolicyRead = { answered: true; policy: string | undefined } | { answered: false; error: Error };

/**
 * BullMQ loses jobs silently if Redis evicts keys; say so loudly at boot. A Redis that does not answer at boot is said to
 * be unreachable (it was reported as a policy "unknown, not noeviction"), and checked once it answers, in the background:
 * the boot does not wait for it.
 */
@Injectable()
export class RedisPolicyCheck implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RedisPolicyCheck.name);
  private stopping = false;

  constructor(
    private readonly client: RedisClient,
    private readonly outage: RedisOutageLog,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const first = await RedisPolicyCheck.read(this.client, FIRST_ANSWER_MS);
    if (first.answered) return this.judge(first.policy);
    this.outage.say(
      { error: first.error.message },
      `Redis does not answer (${first.error.message}): starting without it; what needs Redis waits until it answers, and its maxmemory-policy is checked then`,
    );
    void this.checkOnceItAnswers();
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  static async evictionPolicy(client: RedisClient): Promise<string | undefined> {
    const read = await RedisPolicyCheck.read(client, FIRST_ANSWER_MS);
    return read.answered ? read.policy : undefined;
  }

  /** The policy, `undefined` when Redis refuses CONFIG (disabled on some managed Redis services), or no answer at all. */
  private static async read(client: RedisClient, ms: number): Promise<PolicyRead> {
    try {
      const reply = (await withinMs(ms, 'maxmemory-policy', client.redis.config('GET', 'maxmemory-policy'))) as string[];
      return { answered: true, policy: reply[1] };
    } catch (err) {
      if ((err as Error).name === 'ReplyError') return { answered: true, policy: undefined };
      return { answered: false, error: client.lastError ?? (err as Error) };
    }
  }

  private async checkOnceItAnswers(): Promise<void> {
    while (!this.stopping && (await this.client.whenReady()) && !this.stopping) {
      const read = await RedisPolicyCheck.read(this.client, FIRST_ANSWER_MS);
      if (read.answered) {
        this.logger.log({ maxmemoryPolicy: read.policy ?? 'unknown' }, 'Redis answers now');
        return this.judge(read.policy);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
    }
  }

  private judge(policy: string | undefined): void {
    if (policy === 'noeviction') return;
    this.logger.warn(
      { maxmemoryPolicy: policy ?? 'unknown' },
      policy === undefined
        ? 'Redis maxmemory-policy could not be read (Redis refused CONFIG GET, as some managed services do): make sure it is noeviction, ' +
            'or Redis may drop queued jobs under memory pressure (jobs:reconcile recovers lost jobs).'
        : `Redis maxmemory-policy is ${policy}, not noeviction: Redis may drop queued jobs under memory pressure. ` +
            'Set maxmemory-policy noeviction (jobs:reconcile recovers lost jobs).',
    );
  }
}
