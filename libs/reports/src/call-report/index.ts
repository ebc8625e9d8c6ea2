/** The call report (SPEC §8): filled in by the call-report work. */
export const CALL_REPORT_PROVIDERS: any[] = [];
