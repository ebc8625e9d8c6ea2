import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Actor } from '@app/shared';
import { HttpSink, startHttpSink, startStoreContext } from '@app/testing';
import { CreateOrganizationCommand, CreateOrganizationResult, TenancyModule } from '@app/tenancy';
import { ChangeSettingsCommand } from '../change-settings/change-settings.command';
import { SettingsPatch } from '../domain/settings';
import { SettingsModule } from '../settings.module';
import { HostResolver } from './host-resolver';
import { OutboundHttp } from './outbound-http';

export interface OutboundTestContext {
  ctx: Awaited<ReturnType<typeof startStoreContext>>;
  sink: HttpSink;
  outbound: OutboundHttp;
  resolver: HostResolver;
  org: CreateOrganizationResult;
  admin: Actor;
}

/**
 * What the outbound int specs share, registered as the calling describe's hooks: the settings module on a store of its
 * own, an organization and its admin, and one HTTP receiver. Before each test the receiver forgets what it got and
 * answers 200, spies are restored, and `allowed` is the org's only allowHttpHosts entry. Read `current` in tests.
 */
export function outboundTestContext(orgName: string, allowed: string) {
  const env = { current: undefined as unknown as OutboundTestContext };
  const configure = (changes: SettingsPatch) => env.current.ctx.app.get(CommandBus).execute(new ChangeSettingsCommand(env.current.admin, changes));
  const allow = (...hosts: string[]) => configure({ webhooks: { allowHttpHosts: hosts } });
  beforeAll(async () => {
    const ctx = await startStoreContext({ imports: [CqrsModule.forRoot(), TenancyModule, SettingsModule] });
    const org: CreateOrganizationResult = await ctx.app.get(CommandBus).execute(new CreateOrganizationCommand(orgName));
    env.current = {
      ctx,
      org,
      outbound: ctx.app.get(OutboundHttp),
      resolver: ctx.app.get(HostResolver),
      admin: { orgId: org.orgId, userId: org.adminUserId, role: 'admin', timezone: 'UTC' },
      sink: await startHttpSink(),
    };
  });
  afterAll(async () => {
    await env.current?.sink?.close();
    await env.current?.ctx?.close();
  });
  beforeEach(async () => {
    env.current.sink.requests.length = 0;
    env.current.sink.respondWith(200);
    jest.restoreAllMocks();
    await allow(allowed);
  });
  return { env, configure, allow };
}
