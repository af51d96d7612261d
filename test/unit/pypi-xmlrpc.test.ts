import { describe, expect, it } from 'vitest';
import { faultResponseXml, methodCallXml, methodResponseXml, parseMethodCall, parseMethodResponse, XmlRpcFault } from '../../src/ecosystems/pypi/xmlrpc.ts';

describe('XML-RPC', () => {
  it('round-trips calls and responses', () => {
    expect(parseMethodCall(methodCallXml('changelog_since_serial', [42]))).toEqual({ method: 'changelog_since_serial', params: [42] });
    const value = [['Pkg <&>', null, 1700000000, 'add source file pkg-1.0.tar.gz', 7], { a: true, b: 1.5, c: [] }];
    expect(parseMethodResponse(methodResponseXml(value))).toEqual(value);
  });

  it('reads untyped values as strings, i4/i8 as numbers, and entities', () => {
    const xml = `<?xml version="1.0"?><methodResponse><params><param><value><array><data>
      <value>plain &amp; simple</value><value><i4>5</i4></value><value><i8>9007199254740</i8></value>
      <value><string>&#65;&#x42;</string></value><value><boolean>0</boolean></value></data></array></value></param></params></methodResponse>`;
    expect(parseMethodResponse(xml)).toEqual(['plain & simple', 5, 9007199254740, 'AB', false]);
  });

  it('throws faults and rejects non-responses', () => {
    expect(() => parseMethodResponse(faultResponseXml(-32601, 'no such method'))).toThrow(XmlRpcFault);
    expect(() => parseMethodResponse('<html><body>hi</body></html>')).toThrow(/not a methodResponse/);
  });
});
