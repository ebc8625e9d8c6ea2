import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Database } from './database';

@Injectable()
class DatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly db: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [ConfigService],
      useFactory: (config: ConfigService) => new Database(config.getOrThrow('DATABASE_URL'), config.get('PG_POOL_SIZE') ?? 20),
    },
    DatabaseCloser,
  ],
  exports: [Database],
})
export class DatabaseModule {}
