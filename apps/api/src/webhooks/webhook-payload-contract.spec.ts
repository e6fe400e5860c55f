import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from '../events/events.types';

const openapi = JSON.parse(readFileSync(join(__dirname, '../../../../openapi.json'), 'utf8')) as {
  components: { schemas: Record<string, { properties: Record<string, { description?: string }> }> };
};

describe('the published webhook payload (EventEnvelopeDto in openapi.json)', () => {
  const described = openapi.components.schemas.EventEnvelopeDto.properties.data.description ?? '';

  it.each(EVENT_TYPES)('says what `data` holds for %s', (type) => {
    const family = `${type.split('.')[0]}.*`;
    expect(described.includes(type) || described.includes(family)).toBe(true);
  });
});
