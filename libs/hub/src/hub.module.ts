import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { HubActionHandler } from './hub-action.handler';
import { HubRepository } from './hub.repository';

@Module({ imports: [CqrsModule], providers: [HubRepository, HubActionHandler], exports: [HubRepository] })
export class HubModule {}
