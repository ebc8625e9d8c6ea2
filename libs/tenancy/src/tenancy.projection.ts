import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import {
  ApiKeyIssued,
  ApiKeyIssuedData,
  ApiKeyRevoked,
  ApiKeyRevokedData,
  OrganizationCreated,
  OrganizationCreatedData,
  UserCreated,
  UserCreatedData,
  UserUpdated,
  UserUpdatedData,
} from './domain/tenancy.events';

/** Organizations, users and keys: inline, because a key must authenticate on the very next request. */
@Injectable()
@AsProjection()
export class TenancyProjection implements Projection {
  readonly name = 'tenancy';
  readonly mode = 'inline';
  readonly eventTypes = [OrganizationCreated, UserCreated, UserUpdated, ApiKeyIssued, ApiKeyRevoked];
  readonly tables = ['api_keys', 'users', 'organizations'];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    for (const e of events) {
      const at = e.metadata.occurredAt;
      switch (e.type) {
        case OrganizationCreated: {
          const d = e.data as OrganizationCreatedData;
          await tx.query('INSERT INTO organizations (id, name, timezone, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
            d.orgId,
            d.name,
            d.timezone,
            at,
          ]);
          break;
        }
        case UserCreated: {
          const d = e.data as UserCreatedData;
          await tx.query(
            `INSERT INTO users (id, org_id, name, email, role, branch, department, timezone, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $9) ON CONFLICT DO NOTHING`,
            [d.userId, d.orgId, d.name, d.email, d.role, d.branch, d.department, d.timezone, at],
          );
          break;
        }
        case UserUpdated: {
          const d = e.data as UserUpdatedData;
          // Only the changed fields are in the event: each column keeps its value unless the event names it.
          const c = d.changes;
          await tx.query(
            `UPDATE users SET name = CASE WHEN $2 THEN $3 ELSE name END, branch = CASE WHEN $4 THEN $5 ELSE branch END,
                    department = CASE WHEN $6 THEN $7 ELSE department END, timezone = CASE WHEN $8 THEN $9 ELSE timezone END,
                    active = CASE WHEN $10 THEN $11 ELSE active END, updated_at = $12
              WHERE id = $1`,
            [
              d.userId,
              'name' in c, c.name ?? null,
              'branch' in c, c.branch ?? null,
              'department' in c, c.department ?? null,
              'timezone' in c, c.timezone ?? null,
              'active' in c, c.active ?? null,
              at,
            ],
          );
          break;
        }
        case ApiKeyIssued: {
          const d = e.data as ApiKeyIssuedData;
          await tx.query(
            `INSERT INTO api_keys (id, org_id, user_id, key_hash, prefix, name, created_at) VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6, $7)
             ON CONFLICT DO NOTHING`,
            [d.keyId, e.orgId, d.userId, d.keyHash, d.prefix, d.name ?? null, at],
          );
          break;
        }
        case ApiKeyRevoked: {
          const d = e.data as ApiKeyRevokedData;
          await tx.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [d.keyId, at]);
          break;
        }
      }
    }
  }
}
