/** The follow-up report per agent (SPEC §8): filled in by the follow-up-report work. */
export const FOLLOW_UP_REPORT_PROVIDERS: any[] = [];
