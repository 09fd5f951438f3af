import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterIdFromBytes, portsFromBase, renderServerProperties } from '../../../streams/transport/kafka/serverProperties.js';

const parse = (text: string): Record<string, string> =>
  Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('renderServerProperties', () => {
  it('single node: replication 1 everywhere, loopback listeners, no rebalance delay', () => {
    const [node] = portsFromBase(1, 19092);
    const p = parse(renderServerProperties(node!, [node!], '/tmp/x/data'));
    expect(p).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092',
      'log.dirs': '/tmp/x/data',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'min.insync.replicas': '1',
      'group.initial.rebalance.delay.ms': '0',
    });
    expect(p['broker.session.timeout.ms']).toBeUndefined();
  });

  it('three nodes: all voters listed, RF 3, min ISR 2, own ports per node', () => {
    const nodes = portsFromBase(3, 20000);
    const props = nodes.map((n) => parse(renderServerProperties(n, nodes, `/d/${n.id}`)));
    for (const [i, p] of props.entries()) {
      expect(p['controller.quorum.voters']).toBe('1@127.0.0.1:20001,2@127.0.0.1:20003,3@127.0.0.1:20005');
      expect(p['node.id']).toBe(String(i + 1));
      expect(p.listeners).toBe(`PLAINTEXT://127.0.0.1:${20000 + 2 * i},CONTROLLER://127.0.0.1:${20001 + 2 * i}`);
      expect(p['default.replication.factor']).toBe('3');
      expect(p['offsets.topic.replication.factor']).toBe('3');
      expect(p['min.insync.replicas']).toBe('2');
      expect(p['transaction.state.log.min.isr']).toBe('2');
    }
    expect(new Set(nodes.flatMap((n) => [n.port, n.controllerPort])).size).toBe(6);
  });
});

describe('clusterIdFromBytes', () => {
  it('is 22 base64url characters without "-" or padding, or null', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const id = clusterIdFromBytes(bytes);
        const raw = Buffer.from(bytes).toString('base64url');
        if (raw.includes('-')) return id === null;
        return id === raw && /^[A-Za-z0-9_]{22}$/.test(id);
      }),
    );
  });

  it('rejects anything but 16 bytes', () => {
    expect(() => clusterIdFromBytes(new Uint8Array(15))).toThrow(RangeError);
  });
});
