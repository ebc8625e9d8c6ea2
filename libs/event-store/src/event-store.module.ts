import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConsumerRunner, RUN_CONSUMERS } from './consumer-runner';
import { AppendSignal, EventStore } from './event-store';
import { ProjectionRebuilder } from './projection-rebuilder';
import { ProjectionRegistry } from './projection.registry';

@Global()
@Module({})
export class EventStoreModule {
  /** `runConsumers`: drive async projections and the job outbox in this process (worker role). */
  static forRoot(options: { runConsumers: boolean }): DynamicModule {
    return {
      module: EventStoreModule,
      imports: [DiscoveryModule],
      providers: [
        { provide: RUN_CONSUMERS, useValue: options.runConsumers },
        ProjectionRegistry,
        AppendSignal,
        EventStore,
        ConsumerRunner,
        ProjectionRebuilder,
      ],
      exports: [EventStore, ProjectionRegistry, ProjectionRebuilder, AppendSignal, ConsumerRunner, RUN_CONSUMERS],
    };
  }
}
