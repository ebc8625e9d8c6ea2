import { Injectable } from '@nestjs/common';
import { Database } from '@app/shared';
import { CandidateAgent } from '@app/contacts';

export interface AgentProfile {
  readonly id: string;
  readonly branch: string | null;
  readonly department: string | null;
}

/** The org's active agents with what the strategies sort on. */
@Injectable()
export class CandidateAgents {
  constructor(private readonly db: Database) {}

  async profile(orgId: string, userId: string | null): Promise<AgentProfile | null> {
    if (!userId) return null;
    const { rows } = await this.db.query<AgentProfile>('SELECT id, branch, department FROM users WHERE org_id = $1 AND id = $2', [orgId, userId]);
    return rows[0] ?? null;
  }

  /** Active agents of the org, with when auto-assignment last gave each a lead. `openFollowUps` is filled by the caller. */
  async active(orgId: string): Promise<CandidateAgent[]> {
    const { rows } = await this.db.query<{ id: string; name: string; branch: string | null; department: string | null; last_at: Date | null }>(
      `SELECT u.id, u.name, u.branch, u.department,
              (SELECT r.at FROM lead_reassignments r WHERE r.org_id = u.org_id AND r.to_agent_id = u.id ORDER BY r.at DESC LIMIT 1) AS last_at
         FROM users u WHERE u.org_id = $1 AND u.role = 'agent' AND u.active`,
      [orgId],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      branch: r.branch,
      department: r.department,
      openFollowUps: 0,
      lastAssignedAt: r.last_at ? new Date(r.last_at).getTime() : null,
    }));
  }
}
