import { ContactsModule } from '@app/contacts';
import { FollowUpsModule } from '@app/follow-ups';
import { HubModule } from '@app/hub';
import { ReportsModule } from '@app/reports';
import { AssignmentModule } from '@app/assignment';
import { TenancyModule } from '@app/tenancy';
import { SettingsModule } from '@app/settings';

/** Every product module; both roles load all of them (handlers, projections, job sources). */
export const DOMAIN_MODULES = [TenancyModule, ContactsModule, SettingsModule, FollowUpsModule, HubModule, ReportsModule, AssignmentModule];
