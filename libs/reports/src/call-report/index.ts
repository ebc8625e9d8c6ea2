import { Provider } from '@nestjs/common';
import { CallReportProjection } from './call-report.projection';
import { CallReportRepository } from './call-report.repository';

export * from './call-report.calendar';
export * from './call-report.aggregation';
export * from './call-report.projection';
export * from './call-report.repository';

/** The call report (SPEC §8): its async projection and its reader. */
export const CALL_REPORT_PROVIDERS: Provider[] = [CallReportProjection, CallReportRepository];
