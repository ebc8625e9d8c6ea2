import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ContactsModule } from '@app/contacts';
import { SettingsModule } from '@app/settings';
import { BringForwardDeferredHandler } from './bring-forward-deferred/bring-forward-deferred.handler';
import { WindowChangeJobSource } from './bring-forward-deferred/window-change.job-source';
import { ChangeFollowUpHandler } from './change-follow-up/change-follow-up.handler';
import { AttemptTimeoutHandler } from './execute-follow-up/attempt-timeout.handler';
import { ExecuteFollowUpHandler } from './execute-follow-up/execute-follow-up.handler';
import { FollowUpExecutor } from './execute-follow-up/follow-up-executor';
import { ExpireFollowUpsHandler, ExpiryScheduler } from './expire-follow-ups/expire-follow-ups.handler';
import { FollowUpJobSource } from './follow-up.job-source';
import { FollowUpWriter } from './follow-up-writer';
import { FollowUpsRepository } from './follow-ups.repository';
import { ScheduleFollowUpHandler } from './schedule-follow-up/schedule-follow-up.handler';

@Module({
  imports: [CqrsModule, ContactsModule, SettingsModule],
  providers: [
    FollowUpsRepository,
    FollowUpWriter,
    FollowUpJobSource,
    WindowChangeJobSource,
    BringForwardDeferredHandler,
    FollowUpExecutor,
    ExecuteFollowUpHandler,
    AttemptTimeoutHandler,
    ExpireFollowUpsHandler,
    ExpiryScheduler,
    ScheduleFollowUpHandler,
    ChangeFollowUpHandler,
  ],
  exports: [FollowUpsRepository, FollowUpWriter],
})
export class FollowUpsModule {}
