import { EventStore1700000000001 } from './1700000000001-event-store';
import { Tenancy1700000000002 } from './1700000000002-tenancy';
import { ContactsCalls1700000000003 } from './1700000000003-contacts-calls';
import { AppendMany1700000000004 } from './1700000000004-append-many';
import { Settings1700000000005 } from './1700000000005-settings';
import { FollowUpExecution1700000000006 } from './1700000000006-follow-up-execution';
import { Hub1700000000007 } from './1700000000007-hub';
import { IdempotencyPointLookups1700000000008 } from './1700000000008-idempotency-point-lookups';
import { Reassignment1700000000009 } from './1700000000009-reassignment';
import { CallReport1700000000010 } from './1700000000010-call-report';
import { FollowUpReport1700000000011 } from './1700000000011-follow-up-report';
import { NextFollowUpId1700000000012 } from './1700000000012-next-follow-up-id';
import { CallReportPeriods1700000000013 } from './1700000000013-call-report-periods';
import { NextCallIndex1700000000014 } from './1700000000014-next-call-index';
import { SetBasedAppendMany1700000000015 } from './1700000000015-set-based-append-many';
import { ReadModelFillfactor1700000000016 } from './1700000000016-read-model-fillfactor';
import { AppendManyJson1700000000017 } from './1700000000017-append-many-json';
import { DropTypeCommitOrderIndex1700000000018 } from './1700000000018-drop-type-commit-order-index';
import { AllAppended1700000000019 } from './1700000000019-all-appended';
import { CallOfOneContact1700000000020 } from './1700000000020-call-of-one-contact';
import { CallsRebuildAsStored1700000000021 } from './1700000000021-calls-rebuild-as-stored';
import { ByteOrderedIds1700000000022 } from './1700000000022-byte-ordered-ids';
import { StreamVersionFromEvents1700000000023 } from './1700000000023-stream-version-from-events';
import { TimeIndexesAscending1700000000024 } from './1700000000024-time-indexes-ascending';
import { DropRecycledIndex1700000000025 } from './1700000000025-drop-recycled-index';
import { UserTimezoneFollowsOrg1700000000026 } from './1700000000026-user-timezone-follows-org';
import { FollowUpsAgentIndexByCreation1700000000027 } from './1700000000027-follow-ups-agent-index-by-creation';
import { ListFilterIndexes1700000000028 } from './1700000000028-list-filter-indexes';
import { FollowUpsContactAgent1700000000029 } from './1700000000029-follow-ups-contact-agent';
import { ContactTimezoneFollowsOrg1700000000030 } from './1700000000030-contact-timezone-follows-org';
import { ApiKeyName1700000000031 } from './1700000000031-api-key-name';
import { ApiKeyUsage1700000000032 } from './1700000000032-api-key-usage';
import { FollowUpReportArchived1700000000033 } from './1700000000033-follow-up-report-archived';

/** Every migration, in order. A new one is appended here. */
export const MIGRATIONS = [
  EventStore1700000000001, Tenancy1700000000002, ContactsCalls1700000000003, AppendMany1700000000004, Settings1700000000005, FollowUpExecution1700000000006, Hub1700000000007, IdempotencyPointLookups1700000000008,
  Reassignment1700000000009,
  CallReport1700000000010,
  FollowUpReport1700000000011,
  NextFollowUpId1700000000012,
  CallReportPeriods1700000000013,
  NextCallIndex1700000000014,
  SetBasedAppendMany1700000000015,
  ReadModelFillfactor1700000000016,
  AppendManyJson1700000000017,
  DropTypeCommitOrderIndex1700000000018,
  AllAppended1700000000019,
  CallOfOneContact1700000000020,
  CallsRebuildAsStored1700000000021,
  ByteOrderedIds1700000000022,
  StreamVersionFromEvents1700000000023,
  TimeIndexesAscending1700000000024,
  DropRecycledIndex1700000000025,
  UserTimezoneFollowsOrg1700000000026,
  FollowUpsAgentIndexByCreation1700000000027,
  ListFilterIndexes1700000000028,
  FollowUpsContactAgent1700000000029,
  ContactTimezoneFollowsOrg1700000000030,
  ApiKeyName1700000000031,
  ApiKeyUsage1700000000032,
  FollowUpReportArchived1700000000033,
];
