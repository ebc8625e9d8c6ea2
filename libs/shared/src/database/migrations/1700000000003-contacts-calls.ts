import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models of contacts, campaigns, calls, and the one table of notes and follow-ups (SPEC §2: a note
 * is kind 'note', resolved, with no due date). All rebuilt from the contact and campaign streams.
 */
export class ContactsCalls1700000000003 implements MigrationInterface {
  name = 'ContactsCalls1700000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE campaigns (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        name text NOT NULL,
        calling_window jsonb,
        agent_pool uuid[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL
      );
      CREATE INDEX campaigns_org_ix ON campaigns (org_id, name);

      CREATE TABLE contacts (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        name text NOT NULL,
        phone text NOT NULL,
        timezone text NOT NULL,
        lead_quality text NOT NULL,
        lead_status text NOT NULL,
        assigned_agent_id uuid,
        tags text[] NOT NULL DEFAULT '{}',
        campaign_id uuid,
        status text NOT NULL,
        next_follow_up_at timestamptz,
        last_call_at timestamptz,
        reassignments int NOT NULL DEFAULT 0,
        version bigint NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      );
      CREATE INDEX contacts_org_created_ix ON contacts (org_id, created_at, id);
      CREATE INDEX contacts_org_agent_ix ON contacts (org_id, assigned_agent_id, created_at, id);
      CREATE INDEX contacts_tags_ix ON contacts USING gin (tags);

      CREATE TABLE calls (
        org_id uuid NOT NULL,
        call_id text NOT NULL,
        contact_id uuid NOT NULL,
        agent_id uuid NOT NULL,
        direction text NOT NULL,
        status text NOT NULL,
        live boolean NOT NULL,
        duration_sec int NOT NULL DEFAULT 0,
        connected boolean NOT NULL DEFAULT false,
        started_at timestamptz NOT NULL,
        note text,
        campaign_id uuid,
        tags text[] NOT NULL DEFAULT '{}',
        follow_up_id uuid,
        logged_at timestamptz NOT NULL,
        PRIMARY KEY (org_id, call_id)
      );
      CREATE INDEX calls_org_started_ix ON calls (org_id, started_at DESC, call_id);
      CREATE INDEX calls_contact_ix ON calls (contact_id, started_at DESC);
      CREATE INDEX calls_agent_ix ON calls (org_id, agent_id, started_at DESC);
      CREATE INDEX calls_live_ix ON calls (org_id, started_at DESC) WHERE live;

      CREATE TABLE follow_ups (
        id uuid PRIMARY KEY,
        org_id uuid NOT NULL,
        contact_id uuid NOT NULL,
        kind text NOT NULL CHECK (kind IN ('note', 'follow_up')),
        resolved boolean NOT NULL,
        status text NOT NULL,
        type text,
        scheduled_at timestamptz,
        agent_id uuid,
        priority text,
        max_attempts int,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        allow_out_of_window boolean NOT NULL DEFAULT false,
        out_of_window boolean NOT NULL DEFAULT false,
        notes text,
        campaign_id uuid,
        source text,
        message text,
        url text,
        call_id text,
        author_id uuid,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        resolved_at timestamptz
      );
      CREATE INDEX follow_ups_contact_ix ON follow_ups (contact_id, created_at DESC, id);
      CREATE INDEX follow_ups_org_ix ON follow_ups (org_id, kind, created_at DESC, id);
      CREATE INDEX follow_ups_open_ix ON follow_ups (org_id, scheduled_at) WHERE kind = 'follow_up' AND NOT resolved;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE follow_ups; DROP TABLE calls; DROP TABLE contacts; DROP TABLE campaigns;');
  }
}
