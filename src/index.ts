/**
 * fanfold — fan a task out to N specialist agents in parallel, fold their results into one
 * synthesis. The public API.
 */
export { runFanOut, createRunActors } from './run.ts';
export { resumeFanOut } from './resume.ts';
export { createFileCheckpointStore, DEFAULT_STORE_DIR } from './checkpoint/fileStore.ts';
export { CheckpointError } from './checkpoint/format.ts';
export { newRunId } from './checkpoint/store.ts';
export { createNestedOutcomes } from './checkpoint/nestedOutcomes.ts';
export { leadMachine, resultOf } from '../machines/lead.ts';
export { createFanOutLogic } from './actors/fanOut.ts';
export { createSpecialistLogic } from './actors/specialist.ts';
export { createDeadlineTimerLogic } from './actors/deadlineTimer.ts';
export { normalizeConfig, SYNTHESIZER_ID } from './config.ts';
export { DEFAULT_POLICY, TRANSIENT_ERROR_KINDS, resolvePolicy, decideAfterFailure, backoffDelay, judgeFanOut, quorumUnreachable } from './policy.ts';
export { buildSpecialistRequest, buildSynthesisRequest, describeMissing } from './prompts.ts';
export { createScriptedProvider } from './providers/scripted.ts';
export { createAnthropicProvider, ANTHROPIC_API_URL } from './providers/anthropic.ts';
export { openBackend } from './providers/backend.ts';
export { startSimulator } from './simulator/index.ts';
export { researchConfig, RESEARCH_ANGLES } from './presets/research.ts';
export { planAngles, parsePlan, toSpecialists } from './presets/planner.ts';
export { loadAppFile, parseAppFile } from './appFile.ts';
export { DEFAULT_PRICES } from './pricing/prices.ts';
export { costOfRun, costOfOutcome, estimateCostUsd, priceOf } from './pricing/cost.ts';
export { parseDuration } from './duration.ts';
export { FanfoldError, ConfigError, ProviderError, toErrorInfo } from './errors.ts';
export { systemClock } from './clock.ts';
export { emptyUsage } from './usage.ts';

export type { FanOutRun, RunOptions, RunActorDependencies, CheckpointOptions } from './run.ts';
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
export type { AnthropicProvider, AnthropicProviderOptions } from './providers/anthropic.ts';
export type { Backend, BackendOptions } from './providers/backend.ts';
export type { Simulator, SimulatorOptions, SimulatedRequest, FaultRule, Fault, LatencyModel } from './simulator/index.ts';
export type { ResearchOptions } from './presets/research.ts';
export type { Plan, PlannedAngle, PlanOptions } from './presets/planner.ts';
export type { AppFile, AppFileOptions } from './appFile.ts';
export type { ModelPrice, PriceTable } from './pricing/prices.ts';
export type { CostLine, CostReport } from './pricing/cost.ts';
export type { ScriptedProvider, ScriptedProviderOptions, ScriptedReply, ScriptedCall } from './providers/scripted.ts';
export type { RunEvent, SpecialistProgressEvent } from './events.ts';
export type { SpecialistOutcome, OutcomeStatus } from './outcome.ts';
export type { RunResult, RunStatus, MissingAngle } from './result.ts';
export type { ErrorInfo, ErrorKind, ConfigIssue } from './errors.ts';
export type { Clock } from './clock.ts';
export type { Usage } from './usage.ts';
