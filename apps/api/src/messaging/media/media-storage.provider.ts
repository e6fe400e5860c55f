import type { Provider } from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { join } from 'node:path';
import { APP_CONFIG, type AppConfig } from '@app/common';
import { MONGO_TARGET, type MongoTarget } from '../../database/database.module';
import { FileMediaStorage } from './file-media-storage';
import { GridFsMediaStorage } from './gridfs-media-storage';
import { MEDIA_STORAGE } from './media-storage';

export const mediaStorageProvider: Provider = {
  provide: MEDIA_STORAGE,
  inject: [APP_CONFIG, MONGO_TARGET, getConnectionToken()],
  useFactory: (config: AppConfig, target: MongoTarget, connection: Connection) =>
    target.isEmbedded
      ? new FileMediaStorage(
          join(config.DATA_DIR, 'media'),
          config.EMBEDDED_MONGO_FSYNC !== 'never',
        )
      : new GridFsMediaStorage(connection.db!),
};
