import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { SettingsModule } from '@app/settings';
import { TenancyModule } from '@app/tenancy';
import { AddNoteHandler } from './add-note/add-note.handler';
import { CallsRepository } from './calls.repository';
import { CampaignsProjection } from './campaigns.projection';
import { ContactWriter } from './contact-writer';
import { ContactStateCache } from './contact-state.cache';
import { ContactsProjection } from './contacts.projection';
import { ContactsRepository } from './contacts.repository';
import { CreateCampaignHandler } from './create-campaign/create-campaign.handler';
import { CreateContactHandler } from './create-contact/create-contact.handler';
import { CallIngest } from './log-call/call-ingest';
import { IngestBatcher } from './log-call/ingest-batcher';
import { LogCallHandler, LogCallsBatchHandler } from './log-call/log-call.handler';
import { TimelineRepository } from './timeline.repository';
import { UpdateContactHandler } from './update-contact/update-contact.handler';

@Module({
  imports: [CqrsModule, TenancyModule, SettingsModule],
  providers: [
    ContactsProjection,
    CampaignsProjection,
    ContactWriter,
    ContactStateCache,
    ContactsRepository,
    CallsRepository,
    TimelineRepository,
    CallIngest,
    IngestBatcher,
    CreateContactHandler,
    UpdateContactHandler,
    AddNoteHandler,
    CreateCampaignHandler,
    LogCallHandler,
    LogCallsBatchHandler,
  ],
  exports: [ContactsRepository, CallsRepository, TimelineRepository, ContactWriter, CallIngest, ContactStateCache],
})
export class ContactsModule {}
