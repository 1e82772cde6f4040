import type { Detection } from '../../src/match/detection.js'

/** A fixed instant, and its ISO form, so rendered dates are known. */
export const T = Date.UTC(2024, 0, 5, 3, 4, 5, 678)
export const ISO = '2024-01-05T03:04:05.678Z'

/** An MD5 detection with an actionable field; tests override what they exercise. */
export function sampleDetection (over: Partial<Detection> = {}): Detection {
  return {
    time: T,
    feed: 'kl_malicious_hash',
    category: 'KL_Malicious_Hash_MD5',
    type: 'md5',
    matched: '44d88612fea8a8f36de82e1278abb02f',
    value: '44d88612fea8a8f36de82e1278abb02f',
    rule: 'RE_HASH',
    context: { file_type: 'exe', threat: 'EICAR' },
    actionable: [['cs3', '90']],
    sourceIp: '10.0.0.7',
    rules: { RE_HASH: '44D88612FEA8A8F36DE82E1278ABB02F', SRC_IP: '10.1.1.1' },
    obfuscation: [],
    ...over
  }
}
