import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, KeyedMutex, systemActor } from '@app/shared';
import { HandlesJob, JobHandler } from '@app/queue';
import { chooseAgent, ContactStateCache, ContactWriter, ReassignmentRules, ReassignmentSkipReason, reassignmentBlocker } from '@app/contacts';
import { SettingsRepository } from '@app/settings';
import { Counter } from 'prom-client';
import { CandidateAgents } from './candidate-agents';
import { AGENT_LOAD, AgentLoad } from './agent-load';
import { REASSIGN_LEAD, ReassignLeadPayload } from './reassign.jobs';

const reassigned = new Counter({ name: 'lead_reassignments_total', help: 'Leads reassigned by auto lead assignment', labelNames: ['strategy', 'scope'] });
const skipped = new Counter({ name: 'lead_reassignments_skipped_total', help: 'Auto lead assignment checks that changed nothing, by reason', labelNames: ['reason'] });

/**
 * The delayed re-check of a recycled lead (SPEC §7). Reads the contact, and when its streak is still open picks an
 * agent and appends LeadReassigned with the version it read: a concurrent writer (another trigger of the same
 * streak, a call that just came in) makes the append retry on fresh state, where the decider sees the streak closed.
 * Choosing and appending run one at a time per org in this process, so round_robin hands out leads in turn.
 */
@Injectable()
@HandlesJob(REASSIGN_LEAD)
export class ReassignLeadHandler implements JobHandler<ReassignLeadPayload> {
  private readonly logger = new Logger(ReassignLeadHandler.name);
  private readonly perOrg = new KeyedMutex();

  constructor(
    private readonly states: ContactStateCache,
    private readonly writer: ContactWriter,
    private readonly settings: SettingsRepository,
    private readonly agents: CandidateAgents,
    @Inject(AGENT_LOAD) private readonly load: AgentLoad,
    private readonly clock: Clock,
  ) {}

  run(payload: ReassignLeadPayload): Promise<void> {
    return this.perOrg.run(payload.orgId, () => this.reassign(payload));
  }

  private async reassign({ orgId, contactId, triggerVersion }: ReassignLeadPayload): Promise<void> {
    const rules: ReassignmentRules = (await this.settings.get(orgId)).autoAssignment;
    const { state: contact } = (await this.states.load(orgId, [contactId])).get(contactId)!;
    if (!contact.exists) return;
    const blocker = reassignmentBlocker(contact, triggerVersion, rules);
    if (blocker) return this.skip(blocker, orgId, contactId, triggerVersion);

    const current = await this.agents.profile(orgId, contact.assignedAgentId);
    let candidates = await this.agents.active(orgId);
    if (rules.strategy === 'least_loaded') {
      const open = await this.load.openFollowUpsByAgent(orgId, candidates.map((c) => c.id));
      candidates = candidates.map((c) => ({ ...c, openFollowUps: open.get(c.id) ?? 0 }));
    }
    // A lead whose agent is gone from the users table keeps an id but no branch or department: only scope org can move it.
    const chosen = chooseAgent(rules.strategy, rules.scope, current ?? (contact.assignedAgentId ? { id: contact.assignedAgentId, branch: null, department: null } : null), candidates);
    if (!chosen) return this.skip('no_eligible_agent', orgId, contactId, triggerVersion, { scope: rules.scope, candidates: candidates.length });

    const written = await this.writer.write(systemActor(orgId), contactId, () => ({
      type: 'ReassignLead',
      contactId,
      triggerVersion,
      rules,
      toAgentId: chosen.id,
      at: this.clock.now().toISOString(),
    }));
    if (written.events.length === 0) {
      return this.skip(reassignmentBlocker(written.state, triggerVersion, rules) ?? 'no_eligible_agent', orgId, contactId, triggerVersion);
    }
    reassigned.inc({ strategy: rules.strategy, scope: rules.scope });
    this.logger.log({ orgId, contactId, from: contact.assignedAgentId, to: chosen.id, strategy: rules.strategy, scope: rules.scope }, 'lead reassigned');
  }

  private skip(reason: ReassignmentSkipReason, orgId: string, contactId: string, triggerVersion: number, detail: Record<string, unknown> = {}): void {
    skipped.inc({ reason });
    // Nobody to give the lead to is worth an operator's attention; the other reasons are the normal outcome of a re-check.
    const log = { orgId, contactId, triggerVersion, reason, ...detail };
    if (reason === 'no_eligible_agent') this.logger.warn(log, 'lead not reassigned: no eligible agent');
    else this.logger.debug(log, 'lead not reassigned');
  }
}
