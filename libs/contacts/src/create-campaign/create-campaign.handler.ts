import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock, FieldProblem, fieldProblem, problemsOf, ValidationError } from '@app/shared';
import { EventStore, NO_STREAM } from '@app/event-store';
import { SettingsRepository } from '@app/settings';
import { ContactsRepository } from '../contacts.repository';
import { assertCampaignWindow, CallingWindow, campaignName, campaignStream, decideCreateCampaign, effectiveWindow } from '../domain';
import { CreateCampaignCommand } from './create-campaign.command';

@CommandHandler(CreateCampaignCommand)
export class CreateCampaignHandler implements ICommandHandler<CreateCampaignCommand, { id: string }> {
  constructor(
    private readonly store: EventStore,
    private readonly contacts: ContactsRepository,
    private readonly settings: SettingsRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, campaign }: CreateCampaignCommand): Promise<{ id: string }> {
    const window = campaign.callingWindow;
    // The input's own problems and what the organization's records say, each checked: a 400 names every bad field.
    const ownWindow = window ? problemsOf(() => assertCampaignWindow(window)) : [];
    const problems: FieldProblem[] = [...problemsOf(() => campaignName(campaign.name)), ...ownWindow];
    if (window && ownWindow.length === 0) {
      // A campaign's window narrows the org's (SPEC §7): one with no time in common would leave every call and SMS
      // follow-up of the campaign never run, with nothing to say why. (A later change of the org's window can still
      // do that; docs/operations.md says how it shows.)
      const org = (await this.settings.get(actor.orgId)).callingWindow as CallingWindow;
      if (effectiveWindow(org, window) === null) {
        problems.push(
          fieldProblem(
            'callingWindow',
            `has no time in common with the organization's calling window (${org.days.join(', ')} ${org.start}-${org.end}): its call and SMS follow-ups would never run`,
          ),
        );
      }
    }
    const pool = campaign.agentPool ?? [];
    const staff = await this.contacts.activeStaff(actor.orgId, pool);
    const unknown = pool.filter((id) => !staff.has(id));
    if (unknown.length) problems.push(fieldProblem('agentPool', `${unknown.join(', ')} are not active agents of this organization`));
    if (problems.length) throw ValidationError.of(problems);
    const id = randomUUID();
    await this.store.append(
      campaignStream(id),
      decideCreateCampaign(false, { campaignId: id, name: campaign.name, callingWindow: campaign.callingWindow ?? null, agentPool: pool }),
      { expectedVersion: NO_STREAM, metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() } },
    );
    return { id };
  }
}
