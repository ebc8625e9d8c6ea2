import { Processor } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { DispatchingProcessor, QueueName } from '@app/queue';

// Thin by design: each processor hands the job to the handler registered for its name (libs/*).
@Processor(QueueName.FollowUps)
export class FollowUpsProcessor extends DispatchingProcessor {}

@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends DispatchingProcessor {}

@Module({ providers: [FollowUpsProcessor, MaintenanceProcessor] })
export class ProcessorsModule {}
