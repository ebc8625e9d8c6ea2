import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ContactsModule } from '@app/contacts';
import { HubActionHandler } from './hub-action.handler';
import { HubRepository } from './hub.repository';

@Module({ imports: [CqrsModule, ContactsModule], providers: [HubRepository, HubActionHandler], exports: [HubRepository] })
export class HubModule {}
