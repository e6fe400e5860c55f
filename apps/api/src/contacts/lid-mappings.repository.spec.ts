import type mongoose from 'mongoose';
import { useEmbeddedConnection } from '@app/embedded-mongo/testing/embedded-connection';
import { LidMappingsRepository } from './lid-mappings.repository';
import { LidMapping, LidMappingSchema } from './schemas/lid-mapping.schema';

const MAIN = { organizationId: 'org1', sessionId: 'org1_main', sessionName: 'main' };
const OTHER = { organizationId: 'org1', sessionId: 'org1_other', sessionName: 'other' };

describe('LidMappingsRepository (embedded store)', () => {
  let model: mongoose.Model<LidMapping>;
  let repository: LidMappingsRepository;

  const connectionOf = useEmbeddedConnection('lid-mappings');
  beforeAll(async () => {
    model = connectionOf().model(LidMapping.name, LidMappingSchema);
    await model.init();
    repository = new LidMappingsRepository(model);
  });
  afterEach(() => model.deleteMany({}));

  it('records a mapping once however often (and concurrently) it arrives; a new phone replaces the old', async () => {
    await Promise.all(Array.from({ length: 5 }, () => repository.record(MAIN, '1@lid', '2011')));
    await repository.record(MAIN, '1@lid', '2011');
    expect(await model.countDocuments({})).toBe(1);
    expect(await repository.phoneOf(MAIN, '1@lid')).toBe('2011');

    await repository.record(MAIN, '1@lid', '2012');
    expect(await repository.phoneOf(MAIN, '1@lid')).toBe('2012');
    expect(await model.countDocuments({})).toBe(1);
  });

  it('answers per session: the phone of a LID, the LID of each phone (the latest mapped)', async () => {
    await repository.record(MAIN, '1@lid', '2011');
    await repository.record(MAIN, '2@lid', '2022');
    await repository.record(MAIN, '3@lid', '2022');
    await repository.record(OTHER, '9@lid', '2011');
    expect(await repository.phoneOf(OTHER, '1@lid')).toBeUndefined();
    expect(await repository.lidsOf(MAIN, ['2011', '2022', '2033'])).toEqual(
      new Map([
        ['2011', '1@lid'],
        ['2022', '3@lid'],
      ]),
    );
    expect(await repository.lidsOf(OTHER, ['2011'])).toEqual(new Map([['2011', '9@lid']]));
  });
});
