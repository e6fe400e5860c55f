import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';
import { WaAuthKey } from './wa-auth-key.schema';

/** Rows in `wa_auth_state`; one bulkWrite per batch. */
export class MongoAuthRowBackend implements AuthRowBackend {
  constructor(private readonly model: Model<WaAuthKey>) {}

  async readMany(sessionId: string, type: string, ids: string[]): Promise<Map<string, string>> {
    const docs = await this.model
      .find({ sessionId, type, id: { $in: ids } }, { id: 1, value: 1, _id: 0 })
      .lean<{ id: string; value: string }[]>()
      .exec();
    return new Map(docs.map((d) => [d.id, d.value]));
  }

  async writeMany(sessionId: string, rows: AuthRowWrite[]): Promise<void> {
    await this.model.bulkWrite(
      rows.map((row) =>
        row.value === null
          ? { deleteOne: { filter: { sessionId, type: row.type, id: row.id } } }
          : {
              updateOne: {
                filter: { sessionId, type: row.type, id: row.id },
                update: { $set: { value: row.value } },
                upsert: true,
              },
            },
      ),
      { ordered: true },
    );
  }

  async deleteAll(sessionId: string): Promise<void> {
    await this.model.deleteMany({ sessionId }).exec();
  }
}

@Injectable()
export class MongoAuthStoreProvider extends BatchedAuthStoreProvider {
  constructor(@InjectModel(WaAuthKey.name) model: Model<WaAuthKey>) {
    super(new MongoAuthRowBackend(model), new Logger(MongoAuthStoreProvider.name));
  }
}
