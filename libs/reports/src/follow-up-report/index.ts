import { Provider } from '@nestjs/common';
import { FollowUpReportProjection } from './follow-up-report.projection';
import { FollowUpReportRepository } from './follow-up-report.repository';

// Named exports only: the call report lives next door in the same barrel.
export { FollowUpReportProjection, FOLLOW_UP_REPORT_PROJECTION } from './follow-up-report.projection';
export { FollowUpReportRepository, FOLLOW_UP_REPORT_GROUPS } from './follow-up-report.repository';
export type { FollowUpReport, FollowUpReportGroup, FollowUpReportRow, FollowUpCounts, DayRange as FollowUpReportRange } from './follow-up-report.repository';
export { isLocalDate as isFollowUpReportDay } from './due-slots';

/** The follow-up report per agent (SPEC §8): its async projection and its reader. */
export const FOLLOW_UP_REPORT_PROVIDERS: Provider[] = [FollowUpReportProjection, FollowUpReportRepository];
