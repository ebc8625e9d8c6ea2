import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { PlatformModule } from '@app/shared';
import { EventStoreModule } from '@app/event-store';
import { QueueModule } from '@app/queue';
import { DOMAIN_MODULES } from '../../worker/src/domain-modules';
import { ProcessorsModule } from '../../worker/src/processors.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { AuthFailureLimitModule } from './auth/auth-failure-limit';
import { Authenticator } from './auth/authenticator';
import { ErrorFilter } from './http/error.filter';
import { RateLimitGuard, RateLimitModule } from './http/rate-limit';
import { OpsModule } from './ops/ops.module';
import { UsersController } from './users/users.controller';
import { FollowUpsController } from './follow-ups/follow-ups.controller';
import { HubController } from './hub/hub.controller';
import { ContactsController } from './contacts/contacts.controller';
import { CallsController } from './calls/calls.controller';
import { SettingsController } from './settings/settings.controller';
import { CallReportController } from './reports/call-report.controller';
import { FollowUpReportController } from './reports/follow-up-report.controller';

export interface Roles {
  /** Serve the product's HTTP API. */
  readonly api: boolean;
  /** Run BullMQ processors, async projections and the job outbox. */
  readonly worker: boolean;
}

@Module({ imports: [...DOMAIN_MODULES], controllers: [
    UsersController,
    ContactsController,
    CallsController,
    SettingsController,
    HubController,
    FollowUpsController,
    CallReportController,
    FollowUpReportController,
  ], })
class HttpApiModule {}

/** One composition root for every role: `all` (the single-machine default), `api`, `worker`. */
@Module({})
export class AppModule {
  static forRoot(roles: Roles): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot(),
        CqrsModule.forRoot(),
        EventStoreModule.forRoot({ runConsumers: roles.worker }),
        QueueModule,
        ...DOMAIN_MODULES,
        OpsModule.forRoot({ worker: roles.worker }),
        RateLimitModule,
        AuthFailureLimitModule,
        ...(roles.api ? [HttpApiModule] : []),
        ...(roles.worker ? [ProcessorsModule] : []),
      ],
      providers: [
        // In this order (Nest runs global guards as listed): the rate limit counts the user ApiKeyGuard found.
        Authenticator,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: ErrorFilter },
      ],
    };
  }
}
