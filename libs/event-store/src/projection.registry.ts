import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { EVENT_CONSUMER, EventConsumer, PROJECTION, Projection } from './projection';

/** Finds every projection and consumer provider at boot; names must be unique. */
@Injectable()
export class ProjectionRegistry implements OnModuleInit {
  private readonly projections = new Map<string, Projection>();
  private readonly consumers = new Map<string, EventConsumer>();
  private inlineByType = new Map<string, Projection[]>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype || typeof metatype !== 'function') continue;
      if (this.reflector.get(PROJECTION, metatype)) this.addProjection(instance as Projection);
      else if (this.reflector.get(EVENT_CONSUMER, metatype)) this.addConsumer(instance as EventConsumer);
    }
  }

  addProjection(p: Projection): void {
    if (this.projections.has(p.name) || this.consumers.has(p.name)) throw new Error(`two consumers are named ${p.name}`);
    this.projections.set(p.name, p);
    if (p.mode === 'inline') {
      for (const type of p.eventTypes) this.inlineByType.set(type, [...(this.inlineByType.get(type) ?? []), p]);
    }
  }

  addConsumer(c: EventConsumer): void {
    if (this.projections.has(c.name) || this.consumers.has(c.name)) throw new Error(`two consumers are named ${c.name}`);
    this.consumers.set(c.name, c);
  }

  inlineFor(types: readonly string[]): Projection[] {
    const found = new Set<Projection>();
    for (const t of types) for (const p of this.inlineByType.get(t) ?? []) found.add(p);
    return [...found];
  }

  /** Async projections and plain consumers: what the runner drives. */
  checkpointed(): EventConsumer[] {
    return [...[...this.projections.values()].filter((p) => p.mode === 'async'), ...this.consumers.values()];
  }

  projection(name: string): Projection | undefined {
    return this.projections.get(name);
  }

  projectionNames(): string[] {
    return [...this.projections.keys()];
  }
}
