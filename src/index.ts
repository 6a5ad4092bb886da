/**
 * fanfold — fan a task out to N specialist agents in parallel, fold their results into one
 * synthesis. The package root: the run API (`runFanOut`, `resumeFanOut`), the lead machine and
 * its actors, config and policies, the provider interface, checkpoints and run ids, tools,
 * budgets, pricing, presets, types and errors. Nothing here loads a model SDK or starts a server.
 *
 * Adapters live on their own entry points:
 * - `fanfold/anthropic` — the Anthropic provider and `openBackend` (the API, or the simulator offline)
 * - `fanfold/simulator` — the offline Messages API simulator
 * - `fanfold/testing` — the scripted, in-process provider for tests and benchmarks
 * - `fanfold/inspector` — the local inspector server, recordings and replay
 * - `fanfold/restate` — the durable Restate runtime
 */
export { runFanOut, createRunActors } from './run.ts';
export { resumeFanOut } from './resume.ts';
export { createFileCheckpointStore, DEFAULT_STORE_DIR } from './checkpoint/fileStore.ts';
export { createMemoryCheckpointStore } from './checkpoint/memoryStore.ts';
export { CheckpointError } from './checkpoint/format.ts';
export { newRunId, checkRunId, isValidRunId, RUN_ID_RULE, MAX_RUN_ID_LENGTH, RESERVED_RUN_IDS } from './runId.ts';
export { createNestedOutcomes } from './checkpoint/nestedOutcomes.ts';
export { leadMachine, resultOf } from '../machines/lead.ts';
export { createFanOutLogic, LIGHT_HOSTING_ABOVE } from './actors/fanOut.ts';
export { createSpecialistLogic } from './actors/specialist.ts';
export { createDeadlineTimerLogic } from './actors/deadlineTimer.ts';
export { normalizeConfig, SYNTHESIZER_ID } from './config.ts';
export { DEFAULT_POLICY, TRANSIENT_ERROR_KINDS, resolvePolicy, decideAfterFailure, backoffDelay, judgeFanOut, quorumUnreachable } from './policy.ts';
export { buildSpecialistRequest, buildSynthesisRequest, describeMissing } from './prompts.ts';
export { researchConfig, RESEARCH_ANGLES } from './presets/research.ts';
export { planAngles, parsePlan, toSpecialists } from './presets/planner.ts';
export { loadAppFile, parseAppFile } from './appFile.ts';
export { DEFAULT_PRICES, BATCH_PRICE_FACTOR } from './pricing/prices.ts';
export { createBatchingProvider } from './providers/batch/batchingProvider.ts';
export { DEFAULT_BATCH_SETTINGS, MAX_BATCH_BYTES, MAX_BATCH_REQUESTS } from './providers/batch/settings.ts';
export { costOfRun, costOfOutcome, estimateCostUsd, priceOf } from './pricing/cost.ts';
export { parseDuration } from './duration.ts';
export { FanfoldError, ConfigError, ProviderError, toErrorInfo, toFanfoldError, FANFOLD_ERROR_CODES } from './errors.ts';
export { systemClock } from './clock.ts';
export { emptyUsage } from './usage.ts';
export { defineTool } from './tools/defineTool.ts';
export { createToolbox } from './tools/toolbox.ts';
export { startMcpServers } from './tools/runTools.ts';
export { WEB_SEARCH_USD_PER_REQUEST } from './tools/serverTools.ts';

export type { FanOutRun, RunOptions, RunActorDependencies, CheckpointOptions } from './run.ts';
export type { TraceOptions } from './tracing/traceOptions.ts';
export type { ResumeOptions, ResumedRun } from './resume.ts';
export type { CheckpointStore, CheckpointSummary } from './checkpoint/store.ts';
export type { NestedOutcome, NestedOutcomes, OutcomePath } from './checkpoint/nestedOutcomes.ts';
export type { FileCheckpointStoreOptions } from './checkpoint/fileStore.ts';
export type { Checkpoint, CheckpointMeta, JournalEntry, LoadedCheckpoint } from './checkpoint/format.ts';
export type { LeadContext, LeadEvent, LeadCommand, LeadMachine, LeadMachineInput } from '../machines/lead.ts';
export type { FanOutInput, FanOutOutput, FanOutStop, FanOutSnapshot, FanOutProgressEvent } from './actors/fanOut.ts';
export type { SpecialistActorInput, SpecialistSnapshot, SpecialistProgress, SpecialistDependencies } from './actors/specialist.ts';
export type { FanOutConfig, SpecialistConfig, SynthesizerConfig, TaskFunction, TaskContext, TaskResult, LeadInput, SpecialistSpec, NormalizedConfig } from './config.ts';
export type { SupervisionPolicy, RetryPolicy, PolicyOverride, FailureDecision, FanOutVerdict, Tally } from './policy.ts';
export type { ModelProvider, ModelRequest, ModelResponse, ModelMessage, StreamOptions } from './providers/provider.ts';
export type { ResearchOptions } from './presets/research.ts';
export type { Plan, PlannedAngle, PlanOptions } from './presets/planner.ts';
export type { AppFile, AppFileOptions } from './appFile.ts';
export type { ModelPrice, PriceTable } from './pricing/prices.ts';
export type { CostLine, CostReport } from './pricing/cost.ts';
export type { RunEvent, SpecialistProgressEvent, SpecialistsProgressEvent } from './events.ts';
export type { SpecialistOutcome, OutcomeStatus } from './outcome.ts';
export type { RunResult, RunStatus, MissingAngle } from './result.ts';
export type { ErrorInfo, ErrorKind, ConfigIssue, FanfoldErrorCode } from './errors.ts';
export type { Clock } from './clock.ts';
export type { Usage, ServerToolUsage } from './usage.ts';
export type { DefineToolOptions } from './tools/defineTool.ts';
export type { ToolDefinition, ToolContext, ToolOutput } from './tools/tool.ts';
export type { Toolbox, ToolboxSources, McpToolSource } from './tools/toolbox.ts';
export type { McpServerConfig, McpStdioServerConfig, McpHttpServerConfig } from './tools/mcpConfig.ts';
export type { McpServers } from './tools/mcp.ts';
export type { ToolSpec, ToolCallSummary, LoopLimit, LoopStep, ModelStep, ToolStep } from './tools/types.ts';
export type { ToolConfig, ServerToolConfig } from './config.ts';
export type {
  ContentBlock,
  TextBlock,
  ToolUseBlock,
  ToolResultBlock,
  ServerToolUseBlock,
  ServerToolResultBlock,
  ModelToolDefinition,
  ClientToolDefinition,
  ServerToolDefinition,
  ServerToolEvent,
} from './providers/provider.ts';
export type { SpecialistToolStartedEvent, SpecialistToolDoneEvent, SpecialistTurnEvent } from './events.ts';
export { estimateRunBudget } from './budget/runEstimate.ts';
export { BudgetExceededError } from './budget/estimate.ts';
export { DEFAULT_WEIGHTS, metadataOf, weighFindings } from './findings/weights.ts';
export { REPORT_TOOL_NAME } from './findings/reportTool.ts';
export type { BudgetEstimate } from './budget/estimate.ts';
export type { BudgetCaps, Spend } from './budget/ledger.ts';
export type { WeightRule, FindingMetadata } from './findings/weights.ts';
export type { FindingReport } from './findings/reportTool.ts';
export type { Digest } from './fold/streamFold.ts';
export type { BudgetConfig, RunBudgetConfig, SharedContext, ModelLeadConfig, BatchConfig } from './config.ts';
export type { BatchingProvider, BatchingProviderOptions, KeptBatch } from './providers/batch/batchingProvider.ts';
export type { BatchSettings } from './providers/batch/settings.ts';
export type { MessageBatchApi, BatchEntry, BatchState, BatchCounts, BatchItemResult } from './providers/batch/batchApi.ts';
export type { BatchEvent, BatchSubmittedEvent, BatchProgressEvent, BatchEndedEvent, BatchRequestCounts } from './events.ts';
export type { BatchedUsage } from './usage.ts';
export type { BatchJournalEntry, SpecialistJournalEntry } from './checkpoint/format.ts';
export type { RunBudgetReport } from './result.ts';
