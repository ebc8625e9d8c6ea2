/** Open follow-ups per agent, for least_loaded: provided by the follow-up report's pre-aggregated counts. */
export interface AgentLoad {
  openFollowUpsByAgent(orgId: string, agentIds: string[]): Promise<Map<string, number>>;
}
export const AGENT_LOAD = Symbol('agent-load');
