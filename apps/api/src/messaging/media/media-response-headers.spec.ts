import { describe, expect, it } from 'vitest';
import { mediaResponseHeaders } from './media-response-headers';

const headers = (mimetype: string, fileName?: string) =>
  mediaResponseHeaders({ mimetype, size: 42, fileName });

describe('mediaResponseHeaders', () => {
  it('shows passive media inline, with its type and length, sandboxed and unsniffed', () => {
    expect(headers('image/jpeg', 'photo.jpg')).toEqual({
      'Content-Type': 'image/jpeg',
      'Content-Length': '42',
      'Accept-Ranges': 'bytes',
      'Content-Disposition': 'inline; filename=photo.jpg',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'X-Content-Type-Options': 'nosniff',
    });
    expect(headers('audio/ogg; codecs=opus')['Content-Disposition']).toBe('inline');
    expect(headers('video/mp4')['Content-Type']).toBe('video/mp4');
  });

  it('makes anything that could become a page an attachment', () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/pdf', 'application/xhtml+xml'])
      expect(headers(type, 'x')['Content-Disposition']).toBe('attachment; filename=x');
  });

  it('serves a mimetype that is not one as octet-stream instead of pasting it into a header', () => {
    for (const bad of ['text/html\r\nSet-Cookie: a=b', 'html', '', 'image/png; x="\r\n"'])
      expect(headers(bad)).toMatchObject({
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': 'attachment',
      });
  });

  it('encodes file names instead of pasting them', () => {
    expect(headers('application/pdf', 'a"b\r\n.pdf')['Content-Disposition']).not.toMatch(/[\r\n]/);
    expect(headers('application/pdf', 'فاتورة.pdf')['Content-Disposition']).toBe(
      'attachment; filename="??????.pdf"; filename*=UTF-8\'\'%D9%81%D8%A7%D8%AA%D9%88%D8%B1%D8%A9.pdf',
    );
  });
});
