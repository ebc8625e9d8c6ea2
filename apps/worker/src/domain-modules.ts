import { ContactsModule } from '@app/contacts';
import { TenancyModule } from '@app/tenancy';

/** Every product module; both roles load all of them (handlers, projections, job sources). */
export const DOMAIN_MODULES = [TenancyModule, ContactsModule];
