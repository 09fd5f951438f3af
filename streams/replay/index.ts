/** Replay: rebuild datasets from recorded search trees (a topic window or a tree archive), with no model calls. */
export { replayTrees, type ReplayConfig, type ReplayDeps, type ReplayReport } from './replayTrees.js';
export { archiveSource, datasetDirOf } from './archiveSource.js';
export { topicSource, REPLAYABLE_TOPICS, type TopicWindow, type TopicSourceDeps } from './topicSource.js';
export type { ReplaySource, ReplaySourceInfo, SourcedTree, EncodedTree, DecodeOutcome } from './replaySource.js';
export { compiledDecoder, compileSchemaCheck } from './compiledDecoder.js';
export { prepareTree, type PreparedTree } from './prepareTree.js';
export { createNoModelPolicy, type CountingPolicy } from './noModelPolicy.js';
export { baseLinearizeConfig, resolveLinearizeConfig, parseTimeFlag } from './replayConfig.js';
export { ReplayLineage, ReplayManifest, LineageFile, readReplayManifest, writeReplayManifest } from './replayManifest.js';
export { TreeSorter, type PositionedTree, type TreeSorterConfig } from './treeSorter.js';
export { readTraceFile, readDatasetTraces, listTraceFiles } from './readTraceFiles.js';
export { inspectDataset, type DatasetInspection, type InspectDeps } from './inspectDataset.js';
export { compactDataset, type CompactConfig, type CompactDeps, type CompactReport } from './compactDataset.js';
