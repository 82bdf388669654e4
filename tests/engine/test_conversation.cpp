// Tests for chat conversations: the whole history rendered by two templates exactly as hand-written, the KV cache
// reused across turns (the second turn prefills only the tokens after the common prefix), and reuse changing nothing
// but the cost: a reused, regenerated or edited turn gives the tokens of a fresh run over the whole rendered history.
#include "engine/model/inferencecontext.h"
#include "engine/model/synthetic.h"
#include "engine/run/conversation.h"
#include "engine/run/generation.h"
#include "engine/text/chattemplate.h"
#include "testsupport.h"

#include <QtTest>

#include <algorithm>

using namespace engine;

namespace {

std::shared_ptr<const Model> chatModel(const std::string& chatTemplate)
{
    SyntheticShape shape = syntheticShape("tiny");
    shape.chatTemplate = chatTemplate;
    return makeSyntheticModel(shape);
}

ChatTurnRequest greedyTurn(int maxTokens)
{
    ChatTurnRequest r;
    r.sampling.temperature = 0;
    r.maxTokens = maxTokens;
    return r;
}

// A fresh greedy decode of `history` on a new context of one thread: the whole history in one prefill, then argmax
// token by token until EOS or maxTokens, as a turn generates (written here without the Conversation).
std::vector<int32_t> freshGreedy(
    const std::shared_ptr<const Model>& model, const std::vector<int32_t>& history, int maxTokens)
{
    Scheduler scheduler({ 1, Partitioner::Auto, 1 });
    InferenceContext ctx(model);
    std::vector<int32_t> out;
    std::span<const float> logits = ctx.eval(scheduler, history);
    while (int(out.size()) < maxTokens) {
        const int32_t id = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        if (model->tokenizer().isEndOfGeneration(id))
            break;
        out.push_back(id);
        if (int(out.size()) < maxTokens)
            logits = ctx.eval(scheduler, std::span<const int32_t>(&id, 1));
    }
    return out;
}

// Tokens at the start of a and b that agree.
size_t commonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b)
{
    return size_t(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin());
}

const std::vector<ChatMessage> kTwoTurns { { ChatRole::User, "Hi" }, { ChatRole::Assistant, "Hello!" },
    { ChatRole::User, "Tell me more" } };

} // namespace

class TestConversation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // --- the whole history, rendered ---

    void chatMLHistoryAsHandWritten()
    {
        const std::string text = formatChatHistory(ChatTemplate::ChatML, "Be brief.", kTwoTurns).text();
        QCOMPARE(text,
            std::string("<|im_start|>system\nBe brief.<|im_end|>\n"
                        "<|im_start|>user\nHi<|im_end|>\n"
                        "<|im_start|>assistant\nHello!<|im_end|>\n"
                        "<|im_start|>user\nTell me more<|im_end|>\n"
                        "<|im_start|>assistant\n"));
        QCOMPARE(formatChatHistory(ChatTemplate::ChatML, "", kTwoTurns, false).text(),
            std::string("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                        "<|im_start|>user\nTell me more<|im_end|>\n"));
    }

    void llama3HistoryAsHandWritten()
    {
        const std::string text = formatChatHistory(ChatTemplate::Llama3, " Be brief. ", kTwoTurns).text();
        QCOMPARE(text,
            std::string("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                        "<|start_header_id|>user<|end_header_id|>\n\nTell me more<|eot_id|>"
                        "<|start_header_id|>assistant<|end_header_id|>\n\n"));
    }

    void mistralAndGemmaHistoriesAsHandWritten()
    {
        // llama.cpp's renderings (tests/test-chat-template.cpp): the reply closed by EOS, the next [INST] opened again.
        QCOMPARE(formatChatHistory(ChatTemplate::MistralV7, "S", kTwoTurns).text(),
            std::string("[SYSTEM_PROMPT] S[/SYSTEM_PROMPT][INST] Hi[/INST] Hello!</s>[INST] Tell me more[/INST]"));
        QCOMPARE(formatChatHistory(ChatTemplate::Llama2, "S", kTwoTurns).text(),
            std::string("[INST] <<SYS>>\nS\n<</SYS>>\n\nHi [/INST]Hello!</s>[INST] Tell me more [/INST]"));
        QCOMPARE(formatChatHistory(ChatTemplate::Gemma, "S", kTwoTurns).text(),
            std::string("<start_of_turn>user\nS\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                        "<start_of_turn>user\nTell me more<end_of_turn>\n<start_of_turn>model\n"));
    }

    // --- a conversation on a model ---

    void modelWithoutTemplateCannotChat()
    {
        const auto bare = makeSyntheticModel("tiny");
        QVERIFY(!Conversation::unavailableReason(*bare).empty());
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Conversation { bare });
        const auto unknown = chatModel("{{ something no template family has }}");
        QVERIFY(Conversation::unavailableReason(*unknown).find("not one") != std::string::npos);
        QVERIFY(Conversation::unavailableReason(*chatModel("chatml")).empty());
    }

    void secondTurnPrefillsOnlyTheNewTokens_data()
    {
        QTest::addColumn<QString>("chatTemplate");
        QTest::newRow("ChatML") << "chatml";
        QTest::newRow("Llama-3") << "llama3";
    }

    void secondTurnPrefillsOnlyTheNewTokens()
    {
        QFETCH(QString, chatTemplate);
        const auto model = chatModel(chatTemplate.toStdString());
        const ChatTemplate family = detectChatTemplate(model->tokenizer().vocab());
        const Tokenizer& tok = model->tokenizer();
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        Conversation chat(model);
        chat.setSystemPrompt("You answer in verse.");

        const ChatTurn first = chat.send(scheduler, "Where is the ark", greedyTurn(12));
        QCOMPARE(first.reusedTokens, 0);
        QCOMPARE(first.prefilledTokens, first.historyTokens);
        QVERIFY(first.generation.stats.generatedTokens > 0);
        QCOMPARE(chat.messages().size(), size_t(2));
        QCOMPARE(chat.messages().back().content, first.generation.text);

        // What the cache holds after the first turn: its prompt, and every reply token but the last (a token is
        // fed only to get the next one; an EOS that stopped the reply was never a reply token).
        std::vector<int32_t> cached = first.generation.promptIds;
        const auto& reply = first.generation.tokenIds;
        const bool stoppedByEos = first.generation.stats.stopReason == StopReason::Eos;
        cached.insert(cached.end(), reply.begin(), stoppedByEos ? reply.end() : reply.end() - 1);
        QCOMPARE(chat.cachedTokens(), int(cached.size()));

        const ChatTurn second = chat.send(scheduler, "and then", greedyTurn(12));
        // The text is the template's rendering of the whole conversation.
        const std::vector<ChatMessage> history { { ChatRole::User, "Where is the ark" },
            { ChatRole::Assistant, first.generation.text }, { ChatRole::User, "and then" },
            { ChatRole::Assistant, second.generation.text } };
        QCOMPARE(chat.renderHistory().text(), formatChatHistory(family, "You answer in verse.", history).text());
        // The tokens: the first turn's prompt, the reply as generated (not its text re-tokenised), then the rest of
        // the rendering, written out here by hand and tokenised with control tokens parsed.
        const std::string tail = family == ChatTemplate::ChatML
            ? "<|im_end|>\n<|im_start|>user\nand then<|im_end|>\n<|im_start|>assistant\n"
            : "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nand then<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n";
        std::vector<int32_t> expected = first.generation.promptIds;
        expected.insert(expected.end(), reply.begin(), reply.end());
        const std::vector<int32_t> tailIds = tok.encode(tail, false, true);
        expected.insert(expected.end(), tailIds.begin(), tailIds.end());
        QCOMPARE(second.generation.promptIds, expected);
        // Everything cached is kept; only the reply's last token, its closing marker and the new message are fed.
        QCOMPARE(second.reusedTokens, int(cached.size()));
        QCOMPARE(second.prefilledTokens, int(expected.size() - cached.size()));
        QCOMPARE(second.generation.stats.promptTokens, second.prefilledTokens);
        QVERIFY(second.prefilledTokens <= int(tailIds.size()) + 1);

        qInfo("turn 1: %d history tokens, %d generated (%s); turn 2: %d history tokens, %d reused, %d prefilled, %d "
              "generated",
            first.historyTokens, first.generation.stats.generatedTokens,
            stopReasonName(first.generation.stats.stopReason), second.historyTokens, second.reusedTokens,
            second.prefilledTokens, second.generation.stats.generatedTokens);
        // Reuse changes the cost only: a fresh decode of the whole history gives the same reply.
        QCOMPARE(second.generation.tokenIds, freshGreedy(model, expected, 12));
    }

    void regenerateAndEditReuseTheCache()
    {
        const auto model = chatModel("chatml");
        Scheduler scheduler({ 1, Partitioner::Auto, 1 });
        Conversation chat(model);
        chat.send(scheduler, "In the beginning", greedyTurn(10));
        const ChatTurn second = chat.send(scheduler, "what came next", greedyTurn(10));

        // Regenerating with the same greedy settings: the same history, so only its last token is fed again.
        const ChatTurn again = chat.act(scheduler, ChatAction::Regenerate, {}, greedyTurn(10));
        QCOMPARE(again.prefilledTokens, 1);
        QCOMPARE(again.reusedTokens, again.historyTokens - 1);
        QCOMPARE(again.generation.tokenIds, second.generation.tokenIds);
        QCOMPARE(chat.messages().size(), size_t(4));

        // Editing the last user message: the cache is cut back where the new rendering departs, and the reply is a
        // fresh run's.
        const ChatTurn edited = chat.act(scheduler, ChatAction::EditLast, "and the light", greedyTurn(10));
        QCOMPARE(chat.messages().size(), size_t(4));
        QCOMPARE(chat.messages()[2].content, std::string("and the light"));
        QVERIFY(edited.reusedTokens > 0);
        QCOMPARE(edited.reusedTokens, int(commonPrefix(second.generation.promptIds, edited.generation.promptIds)));
        QCOMPARE(edited.generation.tokenIds, freshGreedy(model, edited.generation.promptIds, 10));
    }

    void failedTurnLeavesTheMessages()
    {
        const auto model = chatModel("chatml");
        Scheduler scheduler({ 1, Partitioner::Auto, 1 });
        Conversation chat(model, 64);
        QVERIFY_THROWS_EXCEPTION(std::logic_error, chat.act(scheduler, ChatAction::Regenerate, {}, greedyTurn(4)));
        QVERIFY_THROWS_EXCEPTION(std::length_error, chat.send(scheduler, std::string(200, 'a'), greedyTurn(4)));
        QVERIFY(chat.messages().empty());
        const ChatTurn ok = chat.send(scheduler, "Hi", greedyTurn(4));
        QCOMPARE(chat.messages().size(), size_t(2));
        QVERIFY(ok.historyTokens > 0);
    }

    void tracedTurnRecordsItsShortPrefill()
    {
        const auto model = chatModel("chatml");
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        Conversation chat(model);
        runChatTurn(chat, ChatAction::Send, "Let there be light", greedyTurn(6), scheduler, true);
        const ChatTurnRun run = runChatTurn(chat, ChatAction::Send, "and there was", greedyTurn(6), scheduler, true);
        QVERIFY(!run.run.trace.empty());
        QCOMPARE(run.run.sequences.size(), size_t(1));
        QCOMPARE(run.run.sequences[0].tokenIds, run.turn.generation.tokenIds);
        QVERIFY(scheduler.traceRecorder() == nullptr);
        // The largest forward-pass batch of the turn is its prefill: the new tokens, not the whole history.
        int widest = 0;
        for (const TraceEvent& e : run.run.trace)
            if (e.op == Op::FfnDown || e.op == Op::Attention)
                widest = std::max(widest, int(e.tokens));
        QCOMPARE(widest, run.turn.prefilledTokens);
        QVERIFY(run.turn.prefilledTokens < run.turn.historyTokens);
    }
};

QTEST_GUILESS_MAIN(TestConversation)
#include "test_conversation.moc"
