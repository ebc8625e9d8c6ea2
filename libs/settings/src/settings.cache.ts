/** Per-process cache of settings for workers (SettingsRepository.getCached/ensureCached). */
export const SETTINGS_CACHE = new Map<string, { at: number; value: Promise<unknown> }>();

/** Drops this process's cached settings of an org: called after every settings write made here. */
export function forgetCachedSettings(orgId: string): void {
  SETTINGS_CACHE.delete(`get|${orgId}`);
  SETTINGS_CACHE.delete(`ensure|${orgId}`);
}
