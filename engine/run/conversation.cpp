#include "engine/run/conversation.h"

#include "engine/parallel/tracepump.h"
#include "engine/run/strategies.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string eosPiece(const Tokenizer& tokenizer)
{
    return tokenizer.eos() >= 0 ? tokenizer.piece(tokenizer.eos()) : std::string("</s>");
}
} // namespace

void ChatTurnRequest::validate() const
{
    if (maxTokens < 0 || maxTokens > (1 << 20))
        throw std::invalid_argument("max tokens must be between 0 and 1048576, got " + std::to_string(maxTokens));
    sampling.validate();
}

std::string Conversation::unavailableReason(const Model& model)
{
    const std::string& jinja = model.tokenizer().vocab().chatTemplate;
    if (jinja.empty())
        return "the model has no chat template (tokenizer.chat_template): load a GGUF file that has one";
    if (detectChatTemplate(jinja) == ChatTemplate::None)
        return "the model's chat template is not one the playground knows (ChatML, Llama-2/3, Mistral, Zephyr, "
               "Phi-3/4, Gemma)";
    return {};
}

Conversation::Conversation(std::shared_ptr<const Model> model, int contextLength)
    : m_model(std::move(model))
    , m_context(m_model, contextLength)
{
    if (const std::string reason = unavailableReason(*m_model); !reason.empty())
        throw std::invalid_argument("no chat: " + reason);
    m_family = detectChatTemplate(m_model->tokenizer().vocab());
}

ChatPrompt Conversation::renderHistory() const
{
    return formatChatHistory(m_family, m_system, m_messages, true, eosPiece(m_model->tokenizer()));
}

std::vector<int32_t> Conversation::historyTokens() const
{
    // The rendering's segments tokenised as encodeChatPrompt does, except that a generated reply's content is its
    // tokens: the text around it is tokenised in runs that stop there.
    const Tokenizer& tokenizer = m_model->tokenizer();
    std::vector<int32_t> out;
    std::vector<Tokenizer::TextSegment> run;
    bool first = true;
    auto flush = [&] {
        if (run.empty())
            return;
        const std::vector<int32_t> ids = tokenizer.encode(run, first && tokenizer.vocab().addBos);
        out.insert(out.end(), ids.begin(), ids.end());
        run.clear();
        first = false;
    };
    const ChatPrompt prompt = renderHistory();
    for (const ChatSegment& segment : prompt.segments) {
        const std::vector<int32_t>* ids = segment.message >= 0 && !m_replyIds[size_t(segment.message)].empty()
            ? &m_replyIds[size_t(segment.message)]
            : nullptr;
        if (!ids) {
            run.push_back({ segment.text, segment.marker });
            continue;
        }
        flush();
        out.insert(out.end(), ids->begin(), ids->end());
        first = false;
    }
    flush();
    return out;
}

ChatTurn Conversation::act(Scheduler& scheduler, ChatAction action, const std::string& text,
    const ChatTurnRequest& request, const TokenCallback& onToken, const PrefillCallback& onPrefill)
{
    request.validate();
    const std::vector<ChatMessage> before = m_messages;
    const std::vector<std::vector<int32_t>> beforeIds = m_replyIds;
    switch (action) {
    case ChatAction::Send:
        if (!m_messages.empty() && m_messages.back().role == ChatRole::User)
            throw std::logic_error("the last user message has no reply yet: regenerate or edit it instead");
        m_messages.push_back({ ChatRole::User, text });
        m_replyIds.emplace_back();
        break;
    case ChatAction::Regenerate:
        if (m_messages.empty() || m_messages.back().role != ChatRole::Assistant)
            throw std::logic_error("there is no reply to regenerate");
        m_messages.pop_back();
        m_replyIds.pop_back();
        break;
    case ChatAction::EditLast:
        if (!m_messages.empty() && m_messages.back().role == ChatRole::Assistant) {
            m_messages.pop_back();
            m_replyIds.pop_back();
        }
        if (m_messages.empty())
            throw std::logic_error("there is no user message to edit");
        m_messages.back().content = text;
        break;
    }
    try {
        return reply(scheduler, request, onToken, onPrefill);
    } catch (...) {
        m_messages = before;
        m_replyIds = beforeIds;
        throw;
    }
}

ChatTurn Conversation::reply(Scheduler& scheduler, const ChatTurnRequest& request, const TokenCallback& onToken,
    const PrefillCallback& onPrefill)
{
    const auto start = Clock::now();
    TraceRecorder* recorder = scheduler.traceRecorder();
    const int64_t tokenizeBegin = recorder ? recorder->nowNs() : 0;
    ChatTurn turn;
    GenerationResult& result = turn.generation;
    result.chatTemplate = chatTemplateName(m_family);
    result.promptIds = historyTokens();
    const auto& history = result.promptIds;
    if (history.empty())
        throw std::invalid_argument("the conversation renders to no tokens");
    if (int(history.size()) >= m_context.contextLength())
        throw std::length_error("the conversation has " + std::to_string(history.size())
            + " tokens, which does not fit in the context length of " + std::to_string(m_context.contextLength())
            + ": start a new chat or shorten the messages");
    if (recorder)
        scheduler.recordSerialSince(
            RegionInfo { .op = Op::Tokenize, .layer = -1, .sequence = 0, .position = 0, .tokens = 1 }, tokenizeBegin);

    // Keep the cached tokens the new rendering starts with, but feed at least one token: its logits give the reply's
    // first token.
    const auto mismatch = std::mismatch(m_cached.begin(), m_cached.end(), history.begin(), history.end());
    const size_t common = std::min(size_t(mismatch.first - m_cached.begin()), history.size() - 1);
    m_cached.resize(common);
    m_context.truncate(int(common));
    turn.historyTokens = int(history.size());
    turn.reusedTokens = int(common);
    turn.prefilledTokens = int(history.size() - common);
    GenerationStats& stats = result.stats;
    stats.promptTokens = turn.prefilledTokens;
    if (onPrefill)
        onPrefill(turn.historyTokens, turn.reusedTokens);

    const Tokenizer& tokenizer = m_model->tokenizer();
    Sampler sampler(request.sampling);
    Detokenizer detok(tokenizer, /*stripLeadingSpace=*/false);
    std::vector<int32_t> samplerHistory = history; // the repetition penalty sees the whole conversation
    const std::span<const int32_t> fresh(history.data() + common, history.size() - common);
    std::span<const float> logits;
    if (request.maxTokens > 0) {
        const auto t0 = Clock::now();
        logits = m_context.eval(scheduler, fresh, 0);
        m_cached.insert(m_cached.end(), fresh.begin(), fresh.end());
        stats.prefillMs = msSince(t0);
    }
    Clock::time_point decodeStart = Clock::now();
    while (stats.generatedTokens < request.maxTokens) {
        int32_t id = -1;
        const RegionInfo sampling {
            .op = Op::Sampling, .layer = -1, .sequence = 0, .position = m_context.position(), .tokens = 1
        };
        scheduler.serial(sampling, [&] { id = sampler.sample(logits, samplerHistory); });
        if (stats.generatedTokens == 0) {
            stats.timeToFirstTokenMs = msSince(start);
            decodeStart = Clock::now();
        }
        if (tokenizer.isEndOfGeneration(id)) {
            stats.stopReason = StopReason::Eos;
            break;
        }
        samplerHistory.push_back(id);
        result.tokenIds.push_back(id);
        ++stats.generatedTokens;
        const std::string piece = detok.push(id);
        result.text += piece;
        if (onToken && !onToken(id, piece)) {
            stats.stopReason = StopReason::Cancelled;
            break;
        }
        if (stats.generatedTokens >= request.maxTokens) {
            stats.stopReason = StopReason::MaxTokens;
            break;
        }
        if (m_context.position() >= m_context.contextLength()) {
            stats.stopReason = StopReason::ContextFull;
            break;
        }
        logits = m_context.eval(scheduler, std::span<const int32_t>(&id, 1), 0);
        m_cached.push_back(id);
    }
    const std::string tail = detok.flush();
    result.text += tail;
    if (onToken && !tail.empty())
        onToken(-1, tail);
    if (stats.generatedTokens > 0)
        stats.decodeMs = msSince(decodeStart);
    stats.totalMs = msSince(start);
    m_messages.push_back({ ChatRole::Assistant, result.text });
    m_replyIds.push_back(result.tokenIds);
    return turn;
}

ChatTurnRun runChatTurn(Conversation& conversation, ChatAction action, const std::string& text,
    const ChatTurnRequest& request, Scheduler& scheduler, bool trace, RunListener* listener)
{
    const int threads = scheduler.threads();
    std::optional<TraceRecorder> recorder;
    if (trace) {
        TraceRecorder::calibrateClock();
        recorder.emplace(threads + 1);
    }
    std::optional<TracePump> pump;
    if (listener && trace)
        pump.emplace(
            *recorder, [listener](std::vector<TraceEvent>&& batch) { listener->onTraceBatch(std::move(batch)); });

    RunTimes times;
    times.start = Clock::now();
    if (recorder) {
        recorder->start(times.start);
        scheduler.setTraceRecorder(&*recorder);
    }
    scheduler.resetRegionStats();
    StopCheck wantsStop(listener, pump ? &*pump : nullptr);
    const TokenCallback onToken = [&](int32_t id, std::string_view piece) {
        if (listener)
            listener->onToken(0, id, piece);
        return id < 0 || !wantsStop();
    };
    ChatTurnRun out;
    try {
        scheduler.execute([&] {
            if (listener)
                listener->onPhase(Phase::Prefill);
            times.prefillStart = Clock::now();
            if (recorder)
                times.trace.prefillStart = recorder->nowNs();
            out.turn = conversation.act(scheduler, action, text, request, onToken, [&](int history, int) {
                if (listener)
                    listener->onPromptTokens(0, history); // token positions count from the conversation's start
            });
        });
    } catch (...) {
        scheduler.setTraceRecorder(nullptr);
        throw;
    }
    scheduler.setTraceRecorder(nullptr);
    const GenerationStats& stats = out.turn.generation.stats;
    // One sequence: the prefill phase ends with the first token, the rest is decode.
    times.prefillEnd = times.prefillStart
        + std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double, std::milli>(stats.timeToFirstTokenMs));
    times.decodeEnd = Clock::now();
    times.end = times.decodeEnd;
    if (recorder) {
        times.trace.prefillEnd = times.trace.prefillStart + int64_t(stats.timeToFirstTokenMs * 1e6);
        times.trace.decodeEnd = recorder->nowNs();
        times.trace.end = times.trace.decodeEnd;
    }
    if (pump)
        pump->finish();
    RunResult& run = out.run;
    run.strategy = Strategy::IntraOp;
    run.threads = threads;
    if (recorder)
        run.trace = recorder->all();
    run.metrics
        = computeRunMetrics(times, { stats }, scheduler.regionStats(), recorder ? &run.trace : nullptr, threads);
    run.cancelled = stats.stopReason == StopReason::Cancelled;
    run.sequences.push_back(out.turn.generation);
    if (listener)
        listener->onSequenceDone(0, out.turn.generation);
    return out;
}

} // namespace engine
