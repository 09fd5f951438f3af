/** llama.cpp's `llama-server` for the openai policy: built once from the pinned source, started and stopped by the project, and a tiny local model. */
export { cachedLlamaBuild, defaultCacheRoot, ensureLlamaServer, LLAMA_CMAKE_FLAGS, LLAMA_CPP_PYTHON_VERSION, type LlamaBuild, type LlamaBuildConfig, type LlamaBuildProgress } from './llamaBuild.js';
export { forgetLlamaServer, llamaServerStatus, startLlamaServer, stopLlamaServer, type LlamaServerOptions, type LlamaServerState, type LlamaServerStatus, type RunningLlamaServer } from './llamaServer.js';
export { ensureTinyModel, TINY_MODEL_ALIAS, tinyModelCorpus, type TinyModelConfig } from './tinyModel.js';
export { withDirLock, type DirLockOptions } from './dirLock.js';
export { formatBuildProgress, servedPolicyEnv, slotsFor, tinyModelScript } from './llmSetup.js';
export { assertGguf, sha256File, startServedGgufPolicy, type GgufVersion, type ServedGgufPolicy, type ServedGgufPolicyConfig, type ServedGgufPolicyDeps } from './servedGgufPolicy.js';
