import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Actor, Clock, FieldProblem, fieldProblem, ValidationError, withEveryProblem } from '@app/shared';
import { ANY_FOLLOW_UP_ID, ContactsRepository, ContactWriter, FollowUpFields, followUpInput, followUpProblems, KeyedRequest, uuidFromKey } from '@app/contacts';
import { outboundUrlProblem, SettingsRepository } from '@app/settings';
import { ScheduleFollowUpCommand } from './schedule-follow-up.command';

/** POST /api/contacts/:id/follow-ups: SPEC §5 defaults, source manual unless the client says otherwise. */
@CommandHandler(ScheduleFollowUpCommand)
export class ScheduleFollowUpHandler implements ICommandHandler<ScheduleFollowUpCommand, { id: string }> {
  constructor(
    // the contact writer itself, not FollowUpWriter: a keyed request hands it the request to compare a retry with
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly settings: SettingsRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, contactId, fields, idempotencyKey }: ScheduleFollowUpCommand): Promise<{ id: string }> {
    await this.contacts.get(actor, contactId);
    // With an Idempotency-Key the id is derived from it (and the org, the caller and the contact: keys are each
    // client's own, so a key reused elsewhere, or by another integration, names another follow-up): a retry whose
    // first answer was lost appends nothing and answers the follow-up the first request scheduled, if it sends the
    // same fields (else 422), without checking its references again: they held then, and an agent deactivated since
    // must not make the retry of a request that succeeded a 400. An importer retrying freely no longer schedules a
    // second dial or SMS. Without a key, every request is a new follow-up.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`follow-up:api:${actor.orgId}:${actor.userId}:${contactId}:${idempotencyKey}`);
    const request: KeyedRequest | null =
      idempotencyKey === null ? null : { key: `follow-up:${id}`, fields: fingerprinted(fields), made: (state) => state.followUpIds.has(id) };
    if (request && (await this.writer.replay(actor, contactId, request))) return { id };
    const now = this.clock.now();
    try {
      await this.checkReferences(actor, fields);
    } catch (error) {
      // with the fields' other problems, which the decider would find next: one 400 names every bad field (SPEC §9)
      throw withEveryProblem(error, () => scheduleFollowUpProblems(fields, now));
    }
    // a twin written meanwhile is found by the writer, which then appends nothing
    await this.writer.write(
      actor,
      contactId,
      () => ({ type: 'ScheduleFollowUp', contactId, source: fields.source ?? 'manual', followUp: followUpInput(id, fields, now) }),
      request ?? undefined,
    );
    return { id };
  }

  /** Each reference the fields make, all of them checked: a 400 names every bad one. */
  private async checkReferences(actor: Actor, fields: FollowUpFields): Promise<void> {
    const problems: FieldProblem[] = [];
    if (fields.agentId && !(await this.contacts.activeStaff(actor.orgId, [fields.agentId])).has(fields.agentId)) {
      problems.push(fieldProblem('agentId', `${fields.agentId} is not an active agent of this organization`));
    }
    if (fields.campaignId && !(await this.contacts.campaignExists(actor.orgId, fields.campaignId))) {
      problems.push(fieldProblem('campaignId', `${fields.campaignId} is not a campaign of this organization`));
    }
    if (fields.type === 'webhook' && fields.url) {
      // The same rule as the settings' endpoints (SPEC §7); the resolved address is checked again when it is sent.
      const problem = outboundUrlProblem(fields.url, (await this.settings.get(actor.orgId)).webhooks.allowHttpHosts);
      if (problem) problems.push(fieldProblem('url', problem));
    }
    if (problems.length) throw ValidationError.of(problems);
  }
}

/**
 * Every problem of a follow-up's fields that is found without a lookup (the decider's: a scheduledAt without an
 * offset, an sms without a message...), for a 400 that names each bad field. The fields may be of any type: the API
 * runs this beside a DTO that refused some of them.
 */
export function scheduleFollowUpProblems(fields: FollowUpFields, now: Date): FieldProblem[] {
  return followUpProblems(followUpInput(ANY_FOLLOW_UP_ID, fields, now), fields.source ?? 'manual', '');
}

/**
 * The §5 fields as the client sent them (no defaults filled in: a retry without scheduledAt is the same request,
 * though "in an hour" is later now), each named: the type makes a field added to FollowUpFields be added here.
 */
function fingerprinted(f: FollowUpFields): Record<keyof FollowUpFields, unknown> {
  return {
    type: f.type,
    scheduledAt: f.scheduledAt,
    agentId: f.agentId,
    priority: f.priority,
    maxAttempts: f.maxAttempts,
    allowOutOfWindow: f.allowOutOfWindow,
    notes: f.notes,
    campaignId: f.campaignId,
    source: f.source,
    message: f.message,
    url: f.url,
  };
}
