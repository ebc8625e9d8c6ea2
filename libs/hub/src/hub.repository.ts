import { Injectable } from '@nestjs/common';
import { Database } from '@app/shared';
import { timing, todayIn } from './due-timing';

export type HubFilter = 'all' | 'overdue' | 'today' | 'hot';

export interface HubItem {
  id: string;
  contactId: string;
  contactName: string;
  reason: string;
  suggestedTiming: 'Due today' | 'Overdue';
  isHot: boolean;
  leadQuality: string;
  status: string;
  overdueDays: number;
  dueAt: string;
  leadStatus: string;
  followUpId: string | null;
}

export interface HubPage {
  followUps: HubItem[];
  counts: { all: number; overdue: number; today: number; hot: number };
}

/**
 * SPEC §6 GET /api/follow-ups/due. The contact read model keeps next_follow_up_at (earliest open call
 * follow-up) current inline, so this is one indexed range read of one agent's active contacts due before the
 * end of the viewer's today, ordered and counted in SQL. Names tie-break as a reader sorts them (ICU root
 * collation: "adam" beside "Adam", "Émile" before "Eve"), not by the database's collation, which under C or C.UTF-8
 * puts every capital before every small letter and every accented letter after "z".
 */
@Injectable()
export class HubRepository {
  constructor(private readonly db: Database) {}

  async due(orgId: string, agentId: string, viewerTimezone: string, now: Date, filter: HubFilter, limit: number): Promise<HubPage> {
    const { start, end } = todayIn(viewerTimezone, now);
    const { rows } = await this.db.query<{
      id: string;
      name: string;
      lead_quality: string;
      lead_status: string;
      status: string;
      due_at: Date;
      follow_up_id: string | null;
      total_all: number;
      total_overdue: number;
      total_hot: number;
    }>(
      {
        name: 'hub-due',
        text: `
        WITH due AS (
          SELECT c.id, c.name, c.lead_quality, c.lead_status, c.status, c.next_follow_up_at AS due_at, c.next_follow_up_id AS follow_up_id,
                 c.lead_quality = 'HOT' AS hot, c.next_follow_up_at < $4 AS overdue
            FROM contacts c
           WHERE c.org_id = $1 AND c.assigned_agent_id = $2 AND c.status = 'ACTIVE'
             AND c.next_follow_up_at IS NOT NULL AND c.next_follow_up_at < $3
        ), totals AS (
          SELECT count(*)::int AS total_all, count(*) FILTER (WHERE overdue)::int AS total_overdue, count(*) FILTER (WHERE hot)::int AS total_hot FROM due
        ), page AS (
          SELECT * FROM due
           WHERE CASE $5 WHEN 'overdue' THEN overdue WHEN 'today' THEN NOT overdue WHEN 'hot' THEN hot ELSE true END
           ORDER BY CASE WHEN hot AND overdue THEN 0 WHEN hot THEN 1 WHEN overdue THEN 2 ELSE 3 END, due_at, name COLLATE "und-x-icu", id
           LIMIT $6
        )
        SELECT p.id, p.name, p.lead_quality, p.lead_status, p.status, p.due_at, p.follow_up_id, t.total_all, t.total_overdue, t.total_hot
          FROM totals t LEFT JOIN page p ON true
         ORDER BY CASE WHEN p.lead_quality = 'HOT' AND p.due_at < $4 THEN 0 WHEN p.lead_quality = 'HOT' THEN 1 WHEN p.due_at < $4 THEN 2 ELSE 3 END,
                  p.due_at, p.name COLLATE "und-x-icu", p.id`,
      },
      [orgId, agentId, end, start, filter, limit],
    );
    const t = rows[0] ?? { total_all: 0, total_overdue: 0, total_hot: 0 };
    const counts = { all: t.total_all, overdue: t.total_overdue, today: t.total_all - t.total_overdue, hot: t.total_hot };
    const followUps = rows
      .filter((r) => r.id !== null)
      .map((r) => {
        const dueAt = new Date(r.due_at);
        const when = timing(dueAt, viewerTimezone, now);
        return {
          id: r.id,
          contactId: r.id,
          contactName: r.name,
          reason: when.reason,
          suggestedTiming: when.suggestedTiming,
          isHot: r.lead_quality === 'HOT',
          leadQuality: r.lead_quality,
          status: r.status,
          overdueDays: when.overdueDays,
          dueAt: dueAt.toISOString(),
          leadStatus: r.lead_status,
          followUpId: r.follow_up_id,
        };
      });
    return { followUps, counts };
  }
}
