import { MongoClient } from 'mongodb';
import { driverOptions } from './driver-options';

/** What the driver runs with for `uri` and the options the gateway passes along with it. */
const effective = (uri: string) => {
  const { options } = new MongoClient(uri, driverOptions(uri));
  return {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS,
    heartbeatFrequencyMS: options.heartbeatFrequencyMS,
    connectTimeoutMS: options.connectTimeoutMS,
  };
};

describe('driverOptions', () => {
  it('sets 10 s server selection, heartbeat and connect timeouts by default', () => {
    expect(effective('mongodb://db.internal:27017/wa_gateway')).toEqual({
      serverSelectionTimeoutMS: 10_000,
      heartbeatFrequencyMS: 10_000,
      connectTimeoutMS: 10_000,
    });
  });

  it('leaves the timeouts MONGODB_URI sets to it, however their names are cased', () => {
    const uri =
      'mongodb://a.internal:27017,b.internal:27017/wa_gateway?replicaSet=rs0&serverSelectionTimeoutMS=30000&HEARTBEATFREQUENCYMS=2000';
    expect(effective(uri)).toEqual({
      serverSelectionTimeoutMS: 30_000,
      heartbeatFrequencyMS: 2_000,
      connectTimeoutMS: 10_000,
    });
    expect(effective('mongodb://db.internal/wa_gateway?connectTimeoutMS=5000')).toMatchObject({
      connectTimeoutMS: 5_000,
    });
  });
});
