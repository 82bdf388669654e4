// A run of one or more prompts under a parallel strategy, with live tokens and trace batches, and its metrics.
#pragma once

#include "engine/parallel/trace.h"
#include "engine/run/generation.h"
#include "engine/run/metrics.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace engine {

// What is split across threads.
enum class Strategy {
    IntraOp, // one sequence at a time; each matmul split by rows, attention by heads
    Request, // every sequence is one task (split the input into independent sub-tasks, then merge)
    Hybrid, // request tasks with intra-op parallelism nested inside each
    Pipeline, // layer groups as tbb::parallel_pipeline stages; sequences flow through them
};
const char* strategyName(Strategy s); // "intra-op", "request", "hybrid", "pipeline"
std::optional<Strategy> strategyFromName(const std::string& name);
const std::vector<Strategy>& allStrategies();

// The two phases of a run: every prompt's forward pass and first token, then every later token.
enum class Phase { Prefill, Decode };
const char* phaseName(Phase phase); // "prefill", "decode"

struct RunRequest {
    std::vector<std::string> prompts; // one sequence each
    SamplingParams sampling; // every sequence uses the same settings and seed
    int maxTokens = 64;
    bool addBos = true;
    bool stopAtEos = true;
    bool chat = false; // apply the model's chat template (if it has one) to each prompt
    std::string systemPrompt; // used with chat
    bool recordTokenProbabilities = false; // GenerationRequest::recordTokenProbabilities for every sequence
    Strategy strategy = Strategy::IntraOp;
    SchedulerOptions scheduler;
    int contextLength = 0; // <= 0: min(model context, 2048)
    // A context longer than the model was trained for (ModelConfig::contextLength) is refused unless
    // this is set: positions past it were never trained, and the KV cache grows with the context.
    bool allowContextOverflow = false;
    bool trace = true;
    int topAlternatives = 0; // GenerationRequest::topAlternatives, for every sequence
    // GenerationRequest::forcedTokens per sequence, in prompt order; missing entries force nothing.
    std::vector<std::vector<int32_t>> forcedTokens;

    void validate() const; // throws std::invalid_argument with a readable message
    // validate(), and the context against a model trained for `trainedContext` tokens
    // (resolveContextLength); executeRun calls it.
    void validateFor(int trainedContext) const;
};

// A run asked for more context than the model was trained for without allowing it. The message
// names both lengths and how to allow it.
struct ContextOverflowError : std::invalid_argument {
    ContextOverflowError(int requested, int trained);
    int requested = 0;
    int trained = 0;
};

// The context a run gets: `requested`, or min(trained, kDefaultContextCap) when requested <= 0.
// Throws ContextOverflowError if that is longer than `trained` and overflow is not allowed.
// The one place the CLI, the window and sweeps get this decision from.
int resolveContextLength(int requested, int trained, bool allowOverflow);

struct RunResult {
    std::vector<GenerationResult> sequences; // in prompt order
    RunMetrics metrics;
    std::vector<TraceEvent> trace; // every event (empty without tracing)
    bool cancelled = false;
    Strategy strategy = Strategy::IntraOp;
    int threads = 1;
};

// Receives a run's output while it goes on. onToken may be called from several worker threads at
// once (request, hybrid and pipeline strategies): implementations must be thread-safe. Trace
// batches arrive about every 20 ms from a helper thread (the last one from the calling thread
// after the run), never concurrently with each other.
class RunListener {
public:
    virtual ~RunListener() = default;
    virtual void onToken(int /*sequence*/, int32_t /*id*/, std::string_view /*text*/) { }
    // After tokenising, before any forward pass: how many tokens each prompt has.
    virtual void onPromptTokens(int /*sequence*/, int /*count*/) { }
    virtual void onTraceBatch(std::vector<TraceEvent>&& /*events*/) { }
    virtual void onSequenceDone(int /*sequence*/, const GenerationResult& /*result*/) { }
    // When a phase starts (from the calling thread).
    virtual void onPhase(Phase /*phase*/) { }
    // Checked between tokens of every sequence: true ends the run after the current tokens.
    virtual bool shouldStop() { return false; }
};

// Runs the request on a scheduler of the requested size (a new arena) ...
RunResult executeRun(std::shared_ptr<const Model> model, const RunRequest& request, RunListener* listener = nullptr);
// ... or on an existing scheduler (sweeps reuse arenas); request.scheduler is then ignored.
RunResult executeRun(std::shared_ptr<const Model> model, const RunRequest& request, Scheduler& scheduler,
    RunListener* listener = nullptr);

} // namespace engine
