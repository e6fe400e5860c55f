import {
  assertMimetypeFits,
  assertSizeFits,
  base64DecodedSize,
  MediaTooLargeError,
} from './media-limits';

describe('media limits', () => {
  it('accepts sizes up to the limit and refuses one byte more with a 413 domain error', () => {
    expect(() => assertSizeFits('image', 16 * 1024 * 1024)).not.toThrow();
    expect(() => assertSizeFits('image', 16 * 1024 * 1024 + 1)).toThrow(MediaTooLargeError);
    expect(() => assertSizeFits('document', 100 * 1024 * 1024)).not.toThrow();
    try {
      assertSizeFits('video', 17 * 1024 * 1024);
    } catch (error) {
      expect((error as MediaTooLargeError).status).toBe(413);
    }
  });

  it('checks the mimetype family against the declared type', () => {
    expect(() => assertMimetypeFits('image', 'image/png')).not.toThrow();
    expect(() => assertMimetypeFits('audio', 'audio/ogg; codecs=opus')).not.toThrow();
    expect(() => assertMimetypeFits('document', 'application/pdf')).not.toThrow();
    expect(() => assertMimetypeFits('image', 'application/pdf')).toThrow(
      "does not fit type 'image'",
    );
    expect(() => assertMimetypeFits('video', 'not a mimetype')).toThrow('is not a valid mimetype');
  });

  it('tells the exact decoded size of base64, padded or not', () => {
    for (let size = 0; size <= 12; size++) {
      const base64 = Buffer.alloc(size, 0xab).toString('base64');
      expect(base64DecodedSize(base64)).toBe(size);
      expect(base64DecodedSize(base64.replace(/=+$/, ''))).toBe(size);
    }
    // 16 MiB is 22,369,624 characters ending in '==': the size is the limit, not 2 bytes over it.
    expect(base64DecodedSize(`${'A'.repeat(22_369_622)}==`)).toBe(16 * 1024 * 1024);
  });
});
