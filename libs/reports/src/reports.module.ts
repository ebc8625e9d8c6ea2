import { Module } from '@nestjs/common';
import { CALL_REPORT_PROVIDERS } from './call-report';
import { FOLLOW_UP_REPORT_PROVIDERS } from './follow-up-report';

/** Supervisors' reports: async, pre-aggregated projections and their readers. */
@Module({ providers: [...CALL_REPORT_PROVIDERS, ...FOLLOW_UP_REPORT_PROVIDERS], exports: [...CALL_REPORT_PROVIDERS, ...FOLLOW_UP_REPORT_PROVIDERS] })
export class ReportsModule {}
