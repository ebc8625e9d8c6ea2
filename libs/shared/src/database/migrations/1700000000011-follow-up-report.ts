import { MigrationInterface, QueryRunner } from 'typeorm';

export class FollowUpReport1700000000011 implements MigrationInterface {
  name = 'FollowUpReport1700000000011';

  async up(q: QueryRunner): Promise<void> {}

  async down(q: QueryRunner): Promise<void> {}
}
