import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Injectable, OnModuleInit, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { FastifyInstance, FastifyReply } from 'fastify';
import { Histogram } from 'prom-client';
import { UnauthorizedError } from '@app/shared';
import { Public } from '../auth/auth.decorators';

/**
 * `/metrics`, public unless METRICS_TOKEN is set: then a scrape must send `Authorization: Bearer <METRICS_TOKEN>`
 * (Prometheus: `authorization: { credentials: ... }`), else 401. Not an API key: a scraper belongs to no organization,
 * and the figures are every organization's together. The token is compared by its SHA-256 in constant time, so
 * neither its length nor a prefix shows in the time of a refusal.
 */
@ApiExcludeController()
@Public()
@Controller()
export class MetricsController extends PrometheusController {
  private readonly token: Buffer | null;

  constructor(config: ConfigService) {
    super();
    const token = config.get<string>('METRICS_TOKEN');
    this.token = token ? digest(token) : null;
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: FastifyReply, @Headers('authorization') authorization?: string) {
    if (this.token) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!match || !timingSafeEqual(digest(match[1]), this.token)) {
        response.header('WWW-Authenticate', 'Bearer');
        throw new UnauthorizedError('metrics need Authorization: Bearer <METRICS_TOKEN>');
      }
    }
    return super.index(response);
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest();

const httpDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
});

/**
 * Latency per route pattern (not per URL, which would explode the label set), by a Fastify hook: it sees the
 * answers a guard or the body parser gave too, and those for no route (route 'unmatched'). Not the router's own
 * refusals of a URL it cannot decode, which Fastify answers before any hook.
 */
@Injectable()
export class HttpMetrics implements OnModuleInit {
  constructor(private readonly adapter: HttpAdapterHost) {}

  onModuleInit(): void {
    if (!this.adapter.httpAdapter) return; // an application context (the CLI) serves no HTTP
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (req, _reply, done) => {
      timers.set(req.raw, httpDuration.startTimer());
      done();
    });
    fastify.addHook('onResponse', (req, reply, done) => {
      timers.get(req.raw)?.({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
      done();
    });
  }
}

const timers = new WeakMap<object, (labels: Record<string, string>) => number>();
