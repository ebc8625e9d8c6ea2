import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { TenancyModule } from '@app/tenancy';
import { ChangeSettingsHandler } from './change-settings/change-settings.handler';
import { OutboundHttp } from './outbound/outbound-http';
import { HostResolver } from './outbound/host-resolver';
import { RotateSigningSecretHandler } from './rotate-signing-secret/rotate-signing-secret.handler';
import { SettingsProjection } from './settings.projection';
import { SettingsRepository } from './settings.repository';
import { SettingsWriter } from './settings-writer';
import { SecretBox } from './secret-box';

@Module({
  imports: [CqrsModule, TenancyModule],
  providers: [SettingsProjection, SettingsWriter, SettingsRepository, ChangeSettingsHandler, RotateSigningSecretHandler, HostResolver, OutboundHttp, SecretBox],
  exports: [SettingsRepository, OutboundHttp, HostResolver],
})
export class SettingsModule {}
