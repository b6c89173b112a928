/** Test support for skills: a fake server speaking Ollama's HTTP API, and a sample skill for the machinery's tests. */
export {
  chatResponder,
  defaultChatResponder,
  defaultEmbedResponder,
  type FakeOllama,
  type FakeOllamaOptions,
  type FakeOllamaStats,
  type FakeReply,
  type FakeRequest,
  type FakeResponder,
  fakeReplies,
  type RecognisedTask,
  recogniseTask,
  startFakeOllama,
  type TaskAnswers,
} from "./fakeOllama.ts"
export {
  SampleMessage,
  SampleSorting,
  SampleTopic,
  sampleTaskAnswers,
  sortMessage,
  sortMessageByHuman,
  sortMessageOffline,
  sortMessageV1,
} from "./sampleSkill.ts"
