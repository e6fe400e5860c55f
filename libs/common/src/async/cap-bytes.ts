import { Transform } from 'node:stream';

/**
 * A pass-through that fails with `tooLarge(size)` as soon as more than `maxBytes` went through,
 * so a stream can be stored chunk by chunk and still never exceed its limit. `bytes` counts what
 * passed.
 */
export class ByteCap extends Transform {
  bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly tooLarge: (size: number) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void) {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(this.tooLarge(this.bytes));
    this.push(chunk);
    done();
  }
}
