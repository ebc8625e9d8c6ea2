export class CreateOrganizationCommand {
  constructor(
    readonly name: string,
    readonly timezone = 'UTC',
    readonly adminName = 'Administrator',
  ) {}
}

export interface CreateOrganizationResult {
  orgId: string;
  adminUserId: string;
  adminKey: string;
  /** To revoke the first admin key (DELETE /api/api-keys/:id) once the admin has issued themselves another. */
  adminKeyId: string;
}
