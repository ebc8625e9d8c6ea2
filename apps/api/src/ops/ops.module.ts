import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthController } from './health.controller';
import { HttpMetrics, MetricsController } from './metrics';

/** Health, metrics: served by every role (the worker too, on its own PORT). */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), PrometheusModule.register({ controller: MetricsController, path: '/metrics', defaultMetrics: { enabled: true } })],
  controllers: [HealthController],
  providers: [HttpMetrics],
})
export class OpsModule {}
