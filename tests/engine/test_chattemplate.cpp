// Tests for chat templates: family detection from Jinja fragments, the exact prompt text of each family, and
// tokenising a formatted prompt without doubling BOS.
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/text/bpe.h"
#include "engine/text/chattemplate.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"
#include "testsupport.h"

#include <QtTest>

#include <algorithm>

using namespace engine;
using namespace testsupport;

Q_DECLARE_METATYPE(engine::ChatTemplate)

namespace {

// Distinctive fragments of the templates shipped with popular models (not whole templates).
const char* const kQwenChatML
    = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + "
      "'\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
const char* const kLlama2Chat
    = "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
      "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if "
      "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}";
const char* const kMistralInstruct
    = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
      "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
      "{% endif %}{% endfor %}";
const char* const kLlama3Instruct
    = "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | "
      "trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content "
      "}}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";
const char* const kTinyLlamaZephyr
    = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
      "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
      "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n";
const char* const kStableLmZephyr = "{% for message in messages %}{% if message['role'] == 'user' %}{{'<|user|>\n' + "
                                    "message['content'] + '<|endoftext|>'}}";
const char* const kPhi3Mini
    = "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + "
      "'<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif "
      "message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}";
const char* const kPhi4 = "{% for message in messages %}{% if (message['role'] == 'system') %}{{'<|im_start|>system"
                          "<|im_sep|>' + message['content'] + '<|im_end|>'}}";
const char* const kGemma
    = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
      "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] "
      "| trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif "
      "%}";
const char* const kVicuna = "{% for message in messages %}{% if message['role'] == 'user' %}{{ 'USER: ' + "
                            "message['content'] + '\\n' }}{% else %}{{ 'ASSISTANT: ' + message['content'] }}";

// A byte-level vocabulary with no merges and the chat control tokens (ids after the 256 bytes).
Vocabulary makeChatBpeVocab(bool addBos)
{
    Vocabulary v;
    v.model = "gpt2";
    v.pre = "llama-bpe";
    for (int b = 0; b < 256; ++b) {
        v.tokens.push_back(BytePairEncoding::bytesToPiece(std::string(1, char(b))));
        v.types.push_back(TokenType::Normal);
    }
    for (const char* special : { "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
             "<|eot_id|>", "<|im_start|>", "<|im_end|>" }) {
        v.tokens.push_back(special);
        v.types.push_back(TokenType::Control);
    }
    v.bosId = 256;
    v.eosId = 257;
    v.addBos = addBos;
    v.addSpacePrefix = false;
    return v;
}

int32_t idOf(const Tokenizer& tok, const std::string& piece)
{
    for (int32_t i = 0; i < tok.size(); ++i) {
        if (tok.piece(i) == piece)
            return i;
    }
    return -1;
}

} // namespace

class TestChatTemplate : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void detectsFamilyFromJinja_data()
    {
        QTest::addColumn<QByteArray>("jinja");
        QTest::addColumn<ChatTemplate>("expected");
        QTest::newRow("Qwen ChatML") << QByteArray(kQwenChatML) << ChatTemplate::ChatML;
        QTest::newRow("Llama-2 chat") << QByteArray(kLlama2Chat) << ChatTemplate::Llama2;
        QTest::newRow("Mistral instruct") << QByteArray(kMistralInstruct) << ChatTemplate::Mistral;
        QTest::newRow("Llama-3 instruct") << QByteArray(kLlama3Instruct) << ChatTemplate::Llama3;
        QTest::newRow("TinyLlama Zephyr") << QByteArray(kTinyLlamaZephyr) << ChatTemplate::Zephyr;
        QTest::newRow("StableLM Zephyr") << QByteArray(kStableLmZephyr) << ChatTemplate::Zephyr;
        QTest::newRow("Phi-3 (Zephyr markers plus <|end|>)") << QByteArray(kPhi3Mini) << ChatTemplate::Phi3;
        QTest::newRow("Phi-4 (ChatML markers plus <|im_sep|>)") << QByteArray(kPhi4) << ChatTemplate::Phi4;
        QTest::newRow("Gemma") << QByteArray(kGemma) << ChatTemplate::Gemma;
        QTest::newRow("unrecognised family") << QByteArray(kVicuna) << ChatTemplate::None;
        QTest::newRow("no template") << QByteArray() << ChatTemplate::None;
    }

    void detectsFamilyFromJinja()
    {
        QFETCH(QByteArray, jinja);
        QFETCH(ChatTemplate, expected);
        QCOMPARE(detectChatTemplate(jinja.toStdString()), expected);
    }

    void appliesFamilyFormatExactly_data()
    {
        QTest::addColumn<ChatTemplate>("family");
        QTest::addColumn<QByteArray>("system");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("ChatML") << ChatTemplate::ChatML << QByteArray("Be brief.")
                                << QByteArray(
                                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                                       "<|im_start|>assistant\n");
        QTest::newRow("ChatML without system")
            << ChatTemplate::ChatML << QByteArray()
            << QByteArray("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
        QTest::newRow("Llama-2") << ChatTemplate::Llama2 << QByteArray("Be brief.")
                                 << QByteArray("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST]");
        QTest::newRow("Llama-2 without system")
            << ChatTemplate::Llama2 << QByteArray() << QByteArray("[INST] Hi there [/INST]");
        QTest::newRow("Mistral") << ChatTemplate::Mistral << QByteArray("Be brief.")
                                 << QByteArray("[INST] Be brief.\n\nHi there [/INST]");
        QTest::newRow("Llama-3") << ChatTemplate::Llama3 << QByteArray("Be brief.")
                                 << QByteArray("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                                               "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                                               "<|start_header_id|>assistant<|end_header_id|>\n\n");
        QTest::newRow("Zephyr") << ChatTemplate::Zephyr << QByteArray("Be brief.")
                                << QByteArray("<|system|>\nBe brief.</s>\n<|user|>\nHi there</s>\n<|assistant|>\n");
        QTest::newRow("Phi-3") << ChatTemplate::Phi3 << QByteArray("Be brief.")
                               << QByteArray(
                                      "<|system|>\nBe brief.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n");
        QTest::newRow("Phi-4") << ChatTemplate::Phi4 << QByteArray("Be brief.")
                               << QByteArray("<|im_start|>system<|im_sep|>Be brief.<|im_end|><|im_start|>user<|im_sep|>"
                                             "Hi there<|im_end|><|im_start|>assistant<|im_sep|>");
        QTest::newRow("Gemma folds system into the user turn")
            << ChatTemplate::Gemma << QByteArray("Be brief.")
            << QByteArray("<start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n<start_of_turn>model\n");
        QTest::newRow("None is the raw prompt")
            << ChatTemplate::None << QByteArray("Be brief.") << QByteArray("Hi there");
    }

    void appliesFamilyFormatExactly()
    {
        QFETCH(ChatTemplate, family);
        QFETCH(QByteArray, system);
        QFETCH(QByteArray, expected);
        QCOMPARE(QByteArray::fromStdString(applyChatTemplate(family, system.toStdString(), "Hi there")), expected);
    }

    void trimmingFamiliesTrimAndOthersKeepWhitespace()
    {
        // Llama-3 and Gemma templates apply `| trim`, Meta's Llama-2 template .strip(); ChatML keeps the text as is.
        QCOMPARE(applyChatTemplate(ChatTemplate::Llama3, "", "  hi \n"),
            std::string("<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                        "<|start_header_id|>assistant<|end_header_id|>\n\n"));
        QCOMPARE(applyChatTemplate(ChatTemplate::Llama2, "", " hi "), std::string("[INST] hi [/INST]"));
        QCOMPARE(applyChatTemplate(ChatTemplate::ChatML, "", " hi "),
            std::string("<|im_start|>user\n hi <|im_end|>\n<|im_start|>assistant\n"));
    }

    void zephyrEndsMessagesWithTheEosPiece()
    {
        QCOMPARE(applyChatTemplate(ChatTemplate::Zephyr, "", "Hi", "<|endoftext|>"),
            std::string("<|user|>\nHi<|endoftext|>\n<|assistant|>\n"));
    }

    void namesRoundTrip()
    {
        for (ChatTemplate family : { ChatTemplate::None, ChatTemplate::ChatML, ChatTemplate::Llama2,
                 ChatTemplate::Mistral, ChatTemplate::Llama3, ChatTemplate::Zephyr, ChatTemplate::Phi3,
                 ChatTemplate::Phi4, ChatTemplate::Gemma }) {
            const std::optional<ChatTemplate> back = chatTemplateFromName(chatTemplateName(family));
            QVERIFY(back.has_value());
            QCOMPARE(*back, family);
        }
        QCOMPARE(std::string(chatTemplateName(ChatTemplate::ChatML)), std::string("chatml"));
        QVERIFY(!chatTemplateFromName("vicuna").has_value());
    }

    void detectsFromGgufKeyAndVocabulary()
    {
        Vocabulary v = makeChatBpeVocab(true);
        v.chatTemplate = kLlama3Instruct;
        GgufWriter writer;
        v.writeTo(writer);
        const std::vector<uint8_t> data = writer.toBytes();
        const GgufFile file = GgufFile::fromMemory(data, "chat.gguf");
        QCOMPARE(detectChatTemplate(file), ChatTemplate::Llama3);
        QCOMPARE(detectChatTemplate(Vocabulary::fromGguf(file)), ChatTemplate::Llama3);

        GgufWriter bare;
        makeChatBpeVocab(true).writeTo(bare);
        const std::vector<uint8_t> bareData = bare.toBytes();
        QCOMPARE(detectChatTemplate(GgufFile::fromMemory(bareData, "bare.gguf")), ChatTemplate::None);
    }

    void llama3PromptHasExactlyOneBos()
    {
        const Tokenizer tok(makeChatBpeVocab(true));
        const std::string text = applyChatTemplate(ChatTemplate::Llama3, "S", "U");
        const auto ids = encodeChatPrompt(tok, text);
        QCOMPARE(ids.front(), tok.bos());
        QCOMPARE(std::count(ids.begin(), ids.end(), tok.bos()), 1);
        QCOMPARE(ids[1], idOf(tok, "<|start_header_id|>"));
        QCOMPARE(rawBytes(tok, ids), std::string("system\n\nSuser\n\nUassistant\n\n")); // control tokens print nothing
        // Text that already starts with the BOS piece (as the Jinja template renders it) still gets one BOS.
        QCOMPARE(encodeChatPrompt(tok, "<|begin_of_text|>" + text), ids);
    }

    void chatMLPromptWithoutBosVocabulary()
    {
        const Tokenizer tok(makeChatBpeVocab(false));
        const auto ids = encodeChatPrompt(tok, applyChatTemplate(ChatTemplate::ChatML, "", "Hi"));
        QVERIFY(std::find(ids.begin(), ids.end(), tok.bos()) == ids.end());
        QCOMPARE(ids.front(), idOf(tok, "<|im_start|>"));
        QCOMPARE(std::count(ids.begin(), ids.end(), idOf(tok, "<|im_start|>")), 2);
        QCOMPARE(std::count(ids.begin(), ids.end(), idOf(tok, "<|im_end|>")), 1);
    }

    void sentencePiecePromptParsesControlTokens()
    {
        // A llama-kind vocabulary (TinyLlama-like): "<s>" / "</s>" are control tokens, Zephyr markers plain text.
        Vocabulary v;
        v.model = "llama";
        v.tokens = { "<unk>", "<s>", "</s>" };
        v.types = { TokenType::Unknown, TokenType::Control, TokenType::Control };
        for (int b = 0; b < 256; ++b) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", b);
            v.tokens.push_back(name);
            v.types.push_back(TokenType::Byte);
        }
        v.unkId = 0;
        v.bosId = 1;
        v.eosId = 2;
        const Tokenizer tok(v);
        const std::string text = applyChatTemplate(ChatTemplate::Zephyr, "", "Hi");
        const auto ids = encodeChatPrompt(tok, text);
        QCOMPARE(ids.front(), 1);
        QCOMPARE(std::count(ids.begin(), ids.end(), 1), 1);
        QCOMPARE(std::count(ids.begin(), ids.end(), 2), 1); // the "</s>" after the user message is EOS itself
        QCOMPARE(encodeChatPrompt(tok, "<s>" + text), ids);
        // Llama-2's text has no control tokens; BOS comes from add_bos_token only.
        const auto llama2 = encodeChatPrompt(tok, applyChatTemplate(ChatTemplate::Llama2, "", "Hi"));
        QCOMPARE(std::count(llama2.begin(), llama2.end(), 1), 1);
        QCOMPARE(llama2.front(), 1);
    }
};

QTEST_APPLESS_MAIN(TestChatTemplate)
#include "test_chattemplate.moc"
