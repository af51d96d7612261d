import { decode, encode, Tag } from 'cbor2';
import { describe, expect, it } from 'vitest';
import { decodeSlaveMessage, encodeMasterReply } from '../../src/ecosystems/pypi/piwheels/messages.ts';

const td = (d: number, s: number, us = 0) => new Tag(2001, [d, s, us]);
const hello10 = [td(0, 10800), td(0, 300), '311', 'cp311', 'linux_armv7l', 'pi4', 'Raspbian', '12', 'c03114', '1234abcd'];

describe('piwheels slave-queue messages (CBOR)', () => {
  it('reads HELLO in the 10-field form, timedeltas as [days, seconds, microseconds] or plain seconds', () => {
    const m = decodeSlaveMessage(encode(['HELLO', hello10]));
    expect(m).toEqual({
      msg: 'HELLO',
      data: { buildTimeoutS: 10800, busyTimeoutS: 300, pyVersion: '311', abi: 'cp311', platform: 'linux_armv7l', label: 'pi4', osName: 'Raspbian', osVersion: '12', boardRevision: 'c03114', boardSerial: '1234abcd' },
    });
    const plain = decodeSlaveMessage(encode(['HELLO', [new Tag(2001, 1.5), 60, ...hello10.slice(2)]]));
    expect(typeof plain === 'object' && plain.msg === 'HELLO' && plain.data.buildTimeoutS).toBe(1.5);
    const old = decodeSlaveMessage(encode(['HELLO', [td(1, 0), '39', 'cp39', 'linux_armv7l', 'old']]));
    expect(typeof old === 'object' && old.msg === 'HELLO' && [old.data.buildTimeoutS, old.data.busyTimeoutS, old.data.abi]).toEqual([86400, 300, 'cp39']);
  });

  it('reads BUILT file entries with 9 fields and with 11', () => {
    const nine = ['x-1.0-cp311-cp311-linux_armv7l.whl', 1234, 'a'.repeat(64), 'x', '1.0', 'cp311', 'cp311', 'linux_armv7l', { apt: ['libc6'] }];
    const eleven = [...nine.slice(0, 8), '>=3.8', { apt: ['libffi8'] }, ''];
    const m = decodeSlaveMessage(encode(['BUILT', [true, td(0, 42, 500000), 'log text', [nine, eleven]]]));
    expect(typeof m).toBe('object');
    if (typeof m !== 'object' || m.msg !== 'BUILT') throw new Error('not BUILT');
    expect(m.data.durationS).toBe(42.5);
    expect(m.data.files.map((f) => [f.requiresPython, f.dependencies])).toEqual([
      [null, { apt: ['libc6'] }],
      ['>=3.8', { apt: ['libffi8'] }],
    ]);
  });

  it('reads bare messages and the no-data tag, and IDLE with or without stats', () => {
    expect(decodeSlaveMessage(encode('SENT'))).toEqual({ msg: 'SENT', data: undefined });
    expect(decodeSlaveMessage(encode(['BYE', new Tag(2002, null)]))).toEqual({ msg: 'BYE', data: undefined });
    expect(decodeSlaveMessage(encode('IDLE'))).toEqual({ msg: 'IDLE', data: undefined });
    const idle = decodeSlaveMessage(encode(['IDLE', [new Date(0), 1, 2, 3, 4, 5, 6, 0.5, 40.1]]));
    expect(typeof idle === 'object' && idle.msg).toBe('IDLE');
  });

  it('names what is wrong with a bad message', () => {
    expect(decodeSlaveMessage(Buffer.from([0xff, 0x00]))).toMatch(/^not CBOR/);
    expect(decodeSlaveMessage(encode(['HELLO', ['too', 'short']]))).toMatch(/^bad data for HELLO/);
    expect(decodeSlaveMessage(encode('FROB'))).toBe('unknown message "FROB"');
    expect(decodeSlaveMessage(encode(['BUILT', [true, td(0, 1), 'log', [['x.whl', -1, 'h', 'x', '1', 'py3', 'none', 'any', {}]]]]))).toMatch(/size/);
    expect(decodeSlaveMessage(encode([1, 2, 3]))).toBe('expected "MSG" or ["MSG", data]');
  });

  it('encodes replies as piw-master does: bare strings without data, pairs with it', () => {
    expect(decode(encodeMasterReply({ msg: 'CONT' }))).toBe('CONT');
    expect(decode(encodeMasterReply({ msg: 'ACK', data: [7, 'https://pypi.org/simple/'] }))).toEqual(['ACK', [7, 'https://pypi.org/simple/']]);
    expect(decode(encodeMasterReply({ msg: 'SLEEP', data: false }))).toEqual(['SLEEP', false]);
    expect(decode(encodeMasterReply({ msg: 'BUILD', data: ['numpy', '2.0.0'] }))).toEqual(['BUILD', ['numpy', '2.0.0']]);
  });
});
