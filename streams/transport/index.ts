/** Public entry of the transport layer: the contract, the memory transport and helpers. */
export type {
  Assignment,
  ConsumedRecord,
  Consumer,
  ConsumerOptions,
  OutgoingRecord,
  Producer,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
} from './transport.js';
export { createMemoryTransport, type MemoryTransportOptions } from './memoryTransport.js';
export { murmur2, partitionForKey, toPositive } from './murmur2.js';
export { OffsetTracker, type RecordPosition } from './offsetTracker.js';
