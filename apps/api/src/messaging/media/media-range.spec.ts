import { RangeNotSatisfiableError, requestedRange } from './media-range';

describe('requestedRange', () => {
  it('serves one satisfiable range, and the whole media for no, several or malformed ranges', () => {
    expect(requestedRange({ range: 'bytes=2-5' }, 10)).toEqual({ start: 2, end: 5 });
    expect(requestedRange({ range: 'bytes=-3' }, 10)).toEqual({ start: 7, end: 9 });
    expect(requestedRange({}, 10)).toBeUndefined();
    expect(requestedRange({ range: 'bytes=0-1,4-5' }, 10)).toBeUndefined();
    expect(requestedRange({ range: 'items=1-2' }, 10)).toBeUndefined();
    expect(requestedRange({ range: 'bytes=0-9' }, 10)).toBeUndefined(); // the whole media
  });

  it('ignores a reversed range (an invalid header), but refuses one past the end with 416', () => {
    expect(requestedRange({ range: 'bytes=5-2' }, 10)).toBeUndefined();
    expect(requestedRange({ range: 'bytes=0-1, 5-2' }, 10)).toBeUndefined();
    expect(() => requestedRange({ range: 'bytes=20-30' }, 10)).toThrow(RangeNotSatisfiableError);
  });
});
