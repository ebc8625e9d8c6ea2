import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { CreateOrganizationHandler } from './create-organization/create-organization.handler';
import { CreateUserHandler } from './create-user/create-user.handler';
import { IssueApiKeyHandler } from './issue-api-key/issue-api-key.handler';
import { RevokeApiKeyHandler } from './revoke-api-key/revoke-api-key.handler';
import { UpdateUserHandler } from './update-user/update-user.handler';
import { TenancyProjection } from './tenancy.projection';
import { UserRepository } from './user.repository';

@Module({
  imports: [CqrsModule],
  providers: [TenancyProjection, UserRepository, CreateOrganizationHandler, CreateUserHandler, IssueApiKeyHandler, RevokeApiKeyHandler, UpdateUserHandler],
  exports: [UserRepository],
})
export class TenancyModule {}
