import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { flattenValidationErrors } from '@app/common';
import { SendMessageDto } from './send-message.dto';

/** What the global ValidationPipe answers for `body`: { field: [messages] }, empty when valid. */
async function problems(body: object): Promise<Record<string, string[]>> {
  const dto = plainToInstance(SendMessageDto, body);
  return flattenValidationErrors(
    await validate(dto, { whitelist: true, forbidNonWhitelisted: true }),
  );
}

const base = { sessionName: 'main', to: '+201001234567' };
const pdf = { base64: 'JVBERi0xLjQK', mimetype: 'application/pdf' };

describe('SendMessageDto', () => {
  it.each<[string, object]>([
    ['text', { text: 'hello' }],
    ['text with type text', { type: 'text', text: 'hello', mentions: ['201001234567'] }],
    ['an image by base64 with a caption', { type: 'image', media: pdf, caption: 'look' }],
    ['a document by url', { type: 'document', media: { url: 'https://example.com/a.pdf' } }],
    [
      'a document by url with a mimetype',
      { type: 'document', media: { url: 'https://example.com/a', mimetype: 'application/pdf' } },
    ],
    [
      'a document with caption and fileName',
      { type: 'document', media: pdf, caption: 'c', fileName: 'a.pdf' },
    ],
    ['audio', { type: 'audio', media: { base64: 'T2dnUw==', mimetype: 'audio/ogg' } }],
  ])('accepts %s', async (_what, body) => {
    expect(await problems({ ...base, ...body })).toEqual({});
  });

  it('refuses text with media but no type, instead of dropping the media', async () => {
    expect(await problems({ ...base, text: 'hello', media: pdf })).toEqual({
      media: ['media needs type image, video, audio or document (type is text when omitted)'],
    });
    expect(await problems({ ...base, type: 'text', text: 'hello', media: pdf })).toEqual({
      media: ['media needs type image, video, audio or document (type is text when omitted)'],
    });
  });

  it('refuses media.url together with media.base64', async () => {
    expect(
      await problems({
        ...base,
        type: 'document',
        media: { ...pdf, url: 'https://example.com/a.pdf' },
      }),
    ).toEqual({ 'media.url': ['give media.url or media.base64, not both'] });
  });

  it('refuses text on a media message, pointing to caption', async () => {
    expect(await problems({ ...base, type: 'image', media: pdf, text: 'look' })).toEqual({
      text: ['text is only for text messages; give an image its text as caption'],
    });
    expect(await problems({ ...base, type: 'document', media: pdf, text: 'look' })).toEqual({
      text: ['text is only for text messages; give a document its text as caption'],
    });
    expect(
      await problems({
        ...base,
        type: 'audio',
        media: { base64: 'T2dnUw==', mimetype: 'audio/ogg' },
        text: 'listen',
      }),
    ).toEqual({ text: ['text is only for text messages; audio carries no text'] });
  });

  it('takes a fileName in any script, not one with control characters or bidi overrides', async () => {
    const doc = { ...base, type: 'document', media: pdf };
    for (const fileName of ['فاتورة 42.pdf', '請求書.pdf', 'résumé 😀.pdf'])
      expect(await problems({ ...doc, fileName })).toEqual({});
    const refused = {
      fileName: ['fileName must be a file name without path separators or control characters'],
    };
    // A right-to-left override shows "invoice\u202Efdp.exe" as invoiceexe.pdf; NEL is a C1 control.
    for (const fileName of ['invoice\u202Efdp.exe', 'a\u2067b.pdf', 'a\u0085b.pdf', 'a/b.pdf'])
      expect(await problems({ ...doc, fileName })).toEqual(refused);
  });

  it('refuses caption or fileName on a text message', async () => {
    expect(await problems({ ...base, text: 'hello', caption: 'c', fileName: 'a.pdf' })).toEqual({
      caption: ['caption is only for image, video and document messages; a text message has text'],
      fileName: ['fileName is only for media messages (documents show it)'],
    });
  });

  it('refuses a caption on audio, which WhatsApp cannot show, instead of dropping it', async () => {
    expect(
      await problems({
        ...base,
        type: 'audio',
        media: { base64: 'T2dnUw==', mimetype: 'audio/ogg' },
        caption: 'listen',
      }),
    ).toEqual({
      caption: ['caption is only for image, video and document messages; audio carries no caption'],
    });
  });

  it('counts text in characters, as caption is counted: an emoji is one', async () => {
    expect(await problems({ ...base, text: '😀'.repeat(4096) })).toEqual({});
    expect(await problems({ ...base, text: '😀'.repeat(4097) })).toEqual({
      text: ['text must be shorter than or equal to 4096 characters'],
    });
  });

  it('counts a caption in code points too, emoji variation selectors included', async () => {
    const image = {
      sessionName: 'main',
      to: '+201001112223',
      type: 'image',
      media: { url: 'https://x.test/a.jpg' },
    };
    expect(await problems({ ...image, caption: '☺️'.repeat(512) })).toEqual({});
    expect(await problems({ ...image, caption: '☺️'.repeat(1000) })).toEqual({
      caption: ['caption must be shorter than or equal to 1024 characters'],
    });
  });

  it('refuses text that is only whitespace', async () => {
    expect(await problems({ ...base, text: ' \n\t ' })).toEqual({
      text: ['text must not be only whitespace'],
    });
    expect(await problems({ ...base, text: ' hi ' })).toEqual({});
  });

  it('says once that base64 needs a mimetype', async () => {
    expect(await problems({ ...base, type: 'document', media: { base64: pdf.base64 } })).toEqual({
      'media.mimetype': ['mimetype is required with base64'],
    });
    expect(
      await problems({ ...base, type: 'document', media: { ...pdf, mimetype: 'x'.repeat(256) } }),
    ).toEqual({ 'media.mimetype': ['mimetype must be shorter than or equal to 255 characters'] });
    expect(await problems({ ...base, type: 'document', media: { ...pdf, mimetype: 7 } })).toEqual({
      'media.mimetype': ['mimetype must be a string'],
    });
  });

  it('still asks for text, or media, as before', async () => {
    expect(await problems(base)).toEqual({ text: ['text is required for text messages'] });
    expect(await problems({ ...base, text: '' })).toEqual({ text: ['text must not be empty'] });
    expect(await problems({ ...base, type: 'image' })).toEqual({
      media: ['media is required for image, video, audio and document messages'],
    });
    expect(await problems({ ...base, type: 'image', media: {} })).toEqual({
      'media.url': ['media.url must be an http(s) URL (or give media.base64)'],
      'media.base64': ['media.base64 must be base64-encoded bytes (or give media.url)'],
    });
  });
});
