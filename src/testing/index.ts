/**
 * `toolalpaca/testing`: in-memory stand-ins for the two ports a pipeline talks through, for tests of
 * code built on this package: a scripted `ChatModel` and a scripted `ToolExecutor`. Both record every
 * call and answer from a script; no network, no files.
 */
export {
  createScriptedChatModel,
  type RecordedChatCall,
  type ScriptedChatModel,
  type ScriptedChatModelOptions,
  type ScriptedReply,
  type ScriptedResponder,
  type ScriptedToolCall,
} from './scripted-chat-model.js';
export {
  createScriptedExecutor,
  type RecordedToolCall,
  type ScriptedAnswer,
  type ScriptedExecutor,
  type ScriptedExecutorOptions,
  type ScriptedObservation,
} from './scripted-executor.js';
