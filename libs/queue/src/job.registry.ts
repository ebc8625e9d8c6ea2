import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { JOB_HANDLER, JOB_SCHEDULE, JOB_SOURCE, JobHandler, JobSource, RecurringJob } from './job.decorators';

/** Handlers and sources found at boot. A job a source makes with no handler, or two handlers for one name, fail startup. */
@Injectable()
export class JobRegistry implements OnModuleInit {
  private readonly handlers = new Map<string, JobHandler>();
  readonly sources: JobSource[] = [];
  readonly recurring: RecurringJob[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const { instance, metatype } of this.discovery.getProviders()) {
      if (!instance || !metatype || typeof metatype !== 'function') continue;
      const name = this.reflector.get<string | undefined>(JOB_HANDLER, metatype);
      if (name) {
        if (this.handlers.has(name)) throw new Error(`job ${name} has two handlers`);
        this.handlers.set(name, instance as JobHandler);
      }
      if (this.reflector.get(JOB_SOURCE, metatype)) this.sources.push(instance as JobSource);
      if (this.reflector.get(JOB_SCHEDULE, metatype)) this.recurring.push(instance as RecurringJob);
    }
  }

  /** Called by the worker role, which must be able to run every job the sources make. */
  assertComplete(): void {
    const missing = this.sources.flatMap((s) => s.jobNames).filter((n) => !this.handlers.has(n));
    if (missing.length) throw new Error(`no handler for job(s): ${[...new Set(missing)].join(', ')}`);
  }

  handler(name: string): JobHandler | undefined {
    return this.handlers.get(name);
  }

  eventTypes(): string[] {
    return [...new Set(this.sources.flatMap((s) => s.eventTypes))];
  }
}
