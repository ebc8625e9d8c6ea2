import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthController, READINESS_NEEDS_REDIS } from './health.controller';
import { HttpMetrics, MetricsController } from './metrics';

/** Registered once per process: prom-client's default registry is global, and collects the default metrics once. */
const METRICS = PrometheusModule.register({ controller: MetricsController, path: '/metrics', defaultMetrics: { enabled: true } });

/** Health, metrics: served by every role (the worker too, on its own PORT). */
@Module({})
export class OpsModule {
  /** `worker`: whether this process runs workers, which cannot work without Redis (readiness then needs it). */
  static forRoot({ worker }: { worker: boolean }): DynamicModule {
    return {
      module: OpsModule,
      imports: [TerminusModule.forRoot({ logger: false }), METRICS],
      controllers: [HealthController],
      providers: [HttpMetrics, { provide: READINESS_NEEDS_REDIS, useValue: worker }],
    };
  }
}
