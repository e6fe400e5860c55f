import { createValidationPipe } from '@app/common';
import { SandboxInboundDto } from './sandbox.dto';

describe('SandboxInboundDto', () => {
  const pipe = createValidationPipe();
  const body = { type: 'body' as const, metatype: SandboxInboundDto };
  const refusal = (value: unknown) =>
    pipe.transform(value, body).then(
      () => undefined,
      (e: { getResponse(): { details: Record<string, string[]> } }) => e.getResponse().details,
    );

  it('takes a location as numbers: a numeric string is refused, not stored as a string', async () => {
    const from = '+201112223334';
    for (const location of [
      { lat: '30.0444', lng: 31.2357 },
      { lat: 30.0444, lng: '31.2357' },
    ]) {
      const details = await refusal({ from, type: 'location', location });
      const field = typeof location.lat === 'string' ? 'location.lat' : 'location.lng';
      expect(details?.[field]).toEqual(expect.arrayContaining([expect.stringMatching(/number/)]));
    }
    await expect(
      pipe.transform({ from, type: 'location', location: { lat: 30.0444, lng: 31.2357 } }, body),
    ).resolves.toBeInstanceOf(SandboxInboundDto);
    expect(await refusal({ from, type: 'location', location: { lat: 91, lng: 0 } })).toHaveProperty(
      ['location.lat'],
    );
  });
});
