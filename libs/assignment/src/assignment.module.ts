import { Module } from '@nestjs/common';
import { ContactsModule } from '@app/contacts';
import { SettingsModule } from '@app/settings';
import { AGENT_LOAD } from './agent-load';
import { CandidateAgents } from './candidate-agents';
import { ReassignJobSource } from './reassign.job-source';
import { ReassignLeadHandler } from './reassign-lead.handler';
import { ReassignBacklogHandler } from './reassign-backlog.handler';
import { FollowUpReportRepository, ReportsModule } from '@app/reports';

/** Auto lead assignment (SPEC §7): the trigger (job source), the delayed re-check and the sweep after a settings change (job handlers). */
@Module({
  imports: [ContactsModule, SettingsModule, ReportsModule],
  providers: [
    CandidateAgents,
    ReassignJobSource,
    ReassignLeadHandler,
    ReassignBacklogHandler,
    { provide: AGENT_LOAD, useExisting: FollowUpReportRepository },
  ],
})
export class AssignmentModule {}
