import { describe, expect, it } from 'vitest';
import { mediaSample } from '../../../../../test/support/media-samples';
import { settleMediaMimetype } from './media-content';

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: { code?: string }) => error.code,
  );

describe('settleMediaMimetype', () => {
  it('keeps a declared mimetype the bytes agree with', async () => {
    expect(await settleMediaMimetype('image', 'image/png', mediaSample.png())).toBe('image/png');
    expect(await settleMediaMimetype('video', 'video/mp4', mediaSample.mp4())).toBe('video/mp4');
    expect(await settleMediaMimetype('audio', 'audio/ogg; codecs=opus', mediaSample.ogg())).toBe(
      'audio/ogg; codecs=opus',
    );
    expect(await settleMediaMimetype('document', 'application/pdf', mediaSample.pdf())).toBe(
      'application/pdf',
    );
  });

  it('goes with what recognised bytes are when the declared mimetype names another format of the family', async () => {
    expect(await settleMediaMimetype('image', 'image/jpeg', mediaSample.png())).toBe('image/png');
    expect(await settleMediaMimetype('image', 'image/png', mediaSample.webp())).toBe('image/webp');
    expect(await settleMediaMimetype('video', 'video/quicktime', mediaSample.mp4())).toBe(
      'video/mp4',
    );
    expect(await settleMediaMimetype('audio', 'audio/mpeg', mediaSample.ogg())).toBe('audio/ogg');
    // Audio in a container the sniffer names as video goes out as that container's audio type.
    expect(await settleMediaMimetype('audio', 'audio/mpeg', mediaSample.mp4())).toBe('audio/mp4');
    expect(await settleMediaMimetype('audio', undefined, mediaSample.mp4())).toBe('audio/mp4');
    expect(await settleMediaMimetype('document', 'application/msword', mediaSample.pdf())).toBe(
      'application/pdf',
    );
  });

  it('keeps a declared document format built on the container the bytes are', async () => {
    const docx = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    const name = Buffer.from('word/document.xml');
    const zipHeader = Buffer.alloc(30);
    zipHeader.writeUInt32LE(0x04034b50, 0); // local file header
    zipHeader.writeUInt16LE(name.length, 26);
    const zip = Buffer.concat([zipHeader, name, Buffer.alloc(64)]);
    expect(await settleMediaMimetype('document', docx, zip)).toBe(docx);
    const cfb = Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(600)]);
    expect(await settleMediaMimetype('document', 'application/vnd.ms-excel', cfb)).toBe(
      'application/vnd.ms-excel',
    );
    expect(
      await settleMediaMimetype(
        'document',
        'application/gpx+xml',
        Buffer.from('<?xml version="1.0"?><gpx></gpx>'),
      ),
    ).toBe('application/gpx+xml');
  });

  it('refuses bytes of another kind than the message type', async () => {
    expect(await refusal(settleMediaMimetype('image', 'image/png', mediaSample.pdf()))).toBe(
      'MEDIA_CONTENT_MISMATCH',
    );
    expect(await refusal(settleMediaMimetype('video', 'video/mp4', mediaSample.jpeg()))).toBe(
      'MEDIA_CONTENT_MISMATCH',
    );
    expect(await refusal(settleMediaMimetype('audio', 'audio/mpeg', mediaSample.png()))).toBe(
      'MEDIA_CONTENT_MISMATCH',
    );
    // An image must be a format WhatsApp can show: unrecognised bytes are refused too.
    expect(await refusal(settleMediaMimetype('image', 'image/png', Buffer.from('hello')))).toBe(
      'MEDIA_CONTENT_MISMATCH',
    );
  });

  it('still refuses a declared mimetype that does not fit the type, before reading the bytes', async () => {
    expect(await refusal(settleMediaMimetype('image', 'application/pdf', mediaSample.png()))).toBe(
      'MIMETYPE_MISMATCH',
    );
  });

  it('takes a missing or generic mimetype from the bytes', async () => {
    expect(await settleMediaMimetype('image', undefined, mediaSample.jpeg())).toBe('image/jpeg');
    expect(
      await settleMediaMimetype('document', 'application/octet-stream', mediaSample.pdf()),
    ).toBe('application/pdf');
    expect(await settleMediaMimetype('video', 'binary/octet-stream', mediaSample.mp4())).toBe(
      'video/mp4',
    );
    // Generic with parameters is still generic.
    expect(
      await settleMediaMimetype(
        'image',
        'application/octet-stream; charset=binary',
        mediaSample.jpeg(),
      ),
    ).toBe('image/jpeg');
    expect(await settleMediaMimetype('document', undefined, Buffer.from('plain notes'))).toBe(
      'application/octet-stream',
    );
    expect(await refusal(settleMediaMimetype('video', undefined, Buffer.from('plain')))).toBe(
      'MEDIA_TYPE_UNKNOWN',
    );
    // No mimetype would make unrecognised bytes an image: refused for what they are.
    expect(await refusal(settleMediaMimetype('image', undefined, Buffer.from('plain')))).toBe(
      'MEDIA_CONTENT_MISMATCH',
    );
  });

  it('lets audio in containers the sniffer names as video, and unknown video or audio formats, pass as declared', async () => {
    expect(await settleMediaMimetype('audio', 'audio/mp4', mediaSample.mp4())).toBe('audio/mp4');
    expect(await settleMediaMimetype('audio', 'audio/amr', Buffer.from('#!AMR\nxxxx'))).toBe(
      'audio/amr',
    );
    expect(await settleMediaMimetype('video', 'video/x-custom', Buffer.from('opaque'))).toBe(
      'video/x-custom',
    );
  });
});
