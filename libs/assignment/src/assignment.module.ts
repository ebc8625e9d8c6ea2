import { Module } from '@nestjs/common';
import { ContactsModule } from '@app/contacts';
import { SettingsModule } from '@app/settings';
import { AGENT_LOAD } from './agent-load';
import { CandidateAgents } from './candidate-agents';
import { ReassignJobSource } from './reassign.job-source';
import { ReassignLeadHandler } from './reassign-lead.handler';
import { FollowUpReportRepository, ReportsModule } from '@app/reports';

/** Auto lead assignment (SPEC §7): the trigger (job source) and the delayed re-check (job handler). */
@Module({
  imports: [ContactsModule, SettingsModule, ReportsModule],
  providers: [CandidateAgents, ReassignJobSource, ReassignLeadHandler, { provide: AGENT_LOAD, useExisting: FollowUpReportRepository }],
})
export class AssignmentModule {}
