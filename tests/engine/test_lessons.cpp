// The teaching demonstrations (engine/lessons): every lesson runs headless to the end, its text quotes only numbers
// it measured, and its explanation says so when the numbers contradict the usual lesson.
#include "testsupport.h"

#include "engine/kernels/typekernels.h"
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lesson.h"

#include <QtTest>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace engine;
using namespace engine::lessons;

namespace {

// Every number written in `text`: runs of digits (with one decimal point) that do not touch a letter or '_' (those
// name things: Q8_0, F32, 110M). A leading minus sign is dropped.
std::vector<std::string> numbersIn(const std::string& text)
{
    auto word = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    std::vector<std::string> numbers;
    for (size_t i = 0; i < text.size();) {
        if (!digit(text[i])) {
            ++i;
            continue;
        }
        size_t end = i;
        while (end < text.size() && digit(text[end]))
            ++end;
        if (end + 1 < text.size() && text[end] == '.' && digit(text[end + 1])) {
            ++end;
            while (end < text.size() && digit(text[end]))
                ++end;
        }
        const bool touchesWord = (i > 0 && word(text[i - 1])) || (end < text.size() && word(text[end]));
        if (!touchesWord)
            numbers.push_back(text.substr(i, end - i));
        i = end;
    }
    return numbers;
}

// The numeric part of every measurement's text ("1.46×" -> "1.46").
std::set<std::string> measuredNumbers(const Measured& m)
{
    std::set<std::string> out;
    for (const Measurement& v : m.values)
        for (const std::string& n : numbersIn(v.text()))
            out.insert(n);
    return out;
}

// `base` with some values replaced (each must exist).
Measured with(Measured base, const std::map<std::string, double>& values)
{
    for (const auto& [name, value] : values) {
        bool found = false;
        for (Measurement& v : base.values)
            if (v.name == name) {
                v.value = value;
                found = true;
            }
        if (!found)
            qFatal("no measurement named %s", name.c_str());
    }
    return base;
}

// Measurements that show each lesson's textbook result, and measurements that do not.
struct Verdicts {
    std::map<std::string, double> confirm;
    std::map<std::string, double> contradict;
};
const std::map<std::string, Verdicts>& verdicts()
{
    static const std::map<std::string, Verdicts> table = {
        { "prefill-vs-decode",
            { { { "prefill_speedup", 1.8 }, { "decode_speedup", 1.2 }, { "background_cores", 0 } },
                { { "prefill_speedup", 0.9 }, { "decode_speedup", 1.1 }, { "background_cores", 0 } } } },
        { "too-small-to-split",
            { { { "decode_speedup", 0.9 }, { "background_cores", 0 } },
                { { "decode_speedup", 1.7 }, { "background_cores", 0 } } } },
        { "one-request-per-thread",
            { { { "throughput_request", 1.9 }, { "own_speedup_request", 1.0 }, { "background_cores", 0 } },
                { { "throughput_request", 1.1 }, { "own_speedup_request", 1.0 }, { "background_cores", 0 } } } },
        { "oversubscription",
            { { { "most_vs_best", 0.8 }, { "background_cores", 0 } },
                { { "most_vs_best", 1.3 }, { "background_cores", 0 } } } },
        { "load-imbalance",
            { { { "imbalance_auto", 5 }, { "imbalance_coarse", 25 }, { "background_cores", 0 } },
                { { "imbalance_auto", 12 }, { "imbalance_coarse", 10 }, { "background_cores", 0 } } } },
        { "amdahl",
            { { { "speedup_cores", 1.6 }, { "fit_serial", 20 }, { "background_cores", 0 } },
                { { "speedup_cores", 0.95 }, { "fit_serial", 110 }, { "background_cores", 0 } } } },
        { "memory-wall",
            { { { "q4_vs_f32", 3.0 }, { "background_cores", 0 } },
                { { "q4_vs_f32", 1.0 }, { "background_cores", 0 } } } },
    };
    return table;
}

} // namespace

class TestLessons : public QObject {
    Q_OBJECT

    std::map<std::string, LessonOutcome> m_outcomes; // quick runs, filled by the first test

private Q_SLOTS:
    void everyLessonRunsHeadlessAndQuotesOnlyItsMeasurements()
    {
        const MachinePeaks machine = testsupport::fakeMachinePeaks();
        LessonOptions options;
        options.quick = true;
        QVERIFY(!allLessons().empty());
        for (const Lesson* lesson : allLessons()) {
            int calls = 0;
            LessonOutcome outcome = runLesson(*lesson, options, machine, {}, [&](int, int, double, const std::string&) {
                ++calls;
                return true;
            });
            const QByteArray name = QByteArray::fromStdString(lesson->name());
            QVERIFY2(!outcome.cancelled, name);
            QVERIFY2(calls > 0, name);
            QCOMPARE(outcome.name, lesson->name());
            QCOMPARE(outcome.results.size(), lesson->plan(options).size());
            QVERIFY2(!outcome.explanation.text.empty(), name);
            QVERIFY2(!outcome.explanation.lookAt.empty(), name);
            QVERIFY2(!outcome.explanation.lookAtText.empty(), name);
            const std::set<std::string> known = measuredNumbers(outcome.measured);
            for (const std::string& n : numbersIn(outcome.explanation.text))
                QVERIFY2(known.count(n),
                    (name + ": " + QByteArray::fromStdString(n)
                        + " is not a measured value in: " + QByteArray::fromStdString(outcome.explanation.text))
                        .constData());
            // The JSON carries the same text and every measurement, by name.
            const nlohmann::json j = toJson(outcome);
            QCOMPARE(j.at("explanation").get<std::string>(), outcome.explanation.text);
            QCOMPARE(j.at("measured").size(), outcome.measured.values.size());
            for (const Measurement& m : outcome.measured.values)
                QCOMPARE(j.at("measured_text").at(m.name).get<std::string>(), m.text());
            m_outcomes[lesson->name()] = std::move(outcome);
        }
    }

    void explanationsSayWhenTheMeasurementContradictsTheLesson()
    {
        for (const Lesson* lesson : allLessons()) {
            const QByteArray name = QByteArray::fromStdString(lesson->name());
            QVERIFY2(verdicts().count(lesson->name()), name + ": no confirming and contradicting values in the table");
            QVERIFY2(m_outcomes.count(lesson->name()), name);
            const Verdicts& v = verdicts().at(lesson->name());
            const Measured& base = m_outcomes.at(lesson->name()).measured;

            const Explanation yes = lesson->explain(with(base, v.confirm));
            QVERIFY2(!yes.contradicts, (name + ": " + QByteArray::fromStdString(yes.text)).constData());
            QVERIFY2(yes.text.find(kContradictionOpening) == std::string::npos, name);

            const Explanation no = lesson->explain(with(base, v.contradict));
            QVERIFY2(no.contradicts, (name + ": " + QByteArray::fromStdString(no.text)).constData());
            QVERIFY2(no.text.find(kContradictionOpening) != std::string::npos, name);
            QVERIFY2(yes.text != no.text, name);

            // The textbook result on a busy machine: shown, with a warning that the timings are disturbed.
            std::map<std::string, double> busy = v.confirm;
            busy["background_cores"] = 2;
            const Explanation noisy = lesson->explain(with(base, busy));
            QVERIFY2(!noisy.contradicts, name);
            QVERIFY2(noisy.text.find("Other processes kept 2.0 cores busy") != std::string::npos,
                (name + ": " + QByteArray::fromStdString(noisy.text)).constData());
        }
    }

    void stoppingALessonCancelsItWithinTheStep()
    {
        // Stop as soon as the second step has begun producing: the lesson ends there, unexplained.
        const Lesson* lesson = findLesson("too-small-to-split");
        QVERIFY(lesson);
        LessonOptions options;
        options.quick = true;
        int lastStep = -1;
        const LessonOutcome outcome = runLesson(*lesson, options, testsupport::fakeMachinePeaks(), {},
            [&](int step, int, double fraction, const std::string&) {
                lastStep = step;
                return !(step == 1 && fraction > 0);
            });
        QVERIFY(outcome.cancelled);
        QCOMPARE(lastStep, 1);
        QCOMPARE(outcome.results.size(), size_t(1)); // the first step's result only
        QVERIFY(outcome.measured.values.empty());
        QVERIFY(outcome.explanation.text.empty());
    }

    void measurementTextHasItsDecimalsAndUnit()
    {
        QCOMPARE((Measurement { "s", 1.456, "×", 2 }.text()), std::string("1.46×"));
        QCOMPARE((Measurement { "p", 41.4, "%", 0 }.text()), std::string("41%"));
        QCOMPARE((Measurement { "o", 2.08, "µs", 1 }.text()), std::string("2.1 µs"));
        QCOMPARE((Measurement { "t", 8, "", 0 }.text()), std::string("8"));
        QCOMPARE((Measurement { "r", 412.25, "tok/s", 0 }.text()), std::string("412 tok/s"));
        QCOMPARE((Measurement { "z", -0.01, "%", 0 }.text()), std::string("0%")); // no "-0%"
        QCOMPARE((Measurement { "n", std::nan(""), "GB/s", 1 }.text()), std::string("n/a"));
    }

    void measuredLooksUpByNameAndRefusesDuplicates()
    {
        Measured m;
        m.add("a", 1.5, "ms", 1);
        m.add("b", 2, "", 0);
        QVERIFY(m.has("a"));
        QVERIFY(!m.has("c"));
        QCOMPARE(m.text("a"), std::string("1.5 ms"));
        QCOMPARE(m.value("b"), 2.0);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, m.at("c"));
        QVERIFY_THROWS_EXCEPTION(std::logic_error, m.add("a", 3, "", 0));
    }

    void fillTextReplacesPlaceholdersAndRefusesWrittenNumbers()
    {
        Measured m;
        m.add("speedup", 1.234, "×", 2);
        m.add("threads", 2, "", 0);
        QCOMPARE(fillText(m, "On {threads} threads Q8_0 ran {speedup} as fast."),
            std::string("On 2 threads Q8_0 ran 1.23× as fast."));
        QCOMPARE(fillText(m, "the 110M shape in F32"), std::string("the 110M shape in F32"));
        QVERIFY_THROWS_EXCEPTION(std::logic_error, fillText(m, "on 2 threads"));
        QVERIFY_THROWS_EXCEPTION(std::logic_error, fillText(m, "about 1.5 times"));
        QVERIFY_THROWS_EXCEPTION(std::logic_error, fillText(m, "unclosed {speedup"));
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, fillText(m, "{missing}"));
        QCOMPARE(joinTexts(m, { "threads", "speedup", "threads" }), std::string("2, 1.23× and 2"));
    }

    void modelKeysRoundTrip()
    {
        const std::vector<ModelChoice> choices = {
            {},
            { "tiny", std::nullopt },
            { "110M", GgmlType::Q4_0 },
            { "15M", GgmlType::Q8_0 },
        };
        for (const ModelChoice& c : choices) {
            const std::optional<ModelChoice> back = parseModelKey(c.key());
            QVERIFY2(back.has_value(), c.key().c_str());
            QVERIFY(*back == c);
        }
        QCOMPARE(ModelChoice {}.key(), std::string("default"));
        QCOMPARE((ModelChoice { "110M", GgmlType::Q4_0 }.key()), std::string("synthetic:110M:q4_0"));
        QCOMPARE((ModelChoice { "110M", GgmlType::Q4_0 }.label()), std::string("synthetic 110M (Q4_0)"));
        for (const char* bad : { "", "synthetic:", "synthetic:huge", "synthetic:tiny:", "synthetic:tiny:Q4_0",
                 "synthetic:tiny:q9_9", "file:/tmp/x.gguf", "Default" })
            QVERIFY2(!parseModelKey(bad).has_value(), bad);
    }

    void aTypeOverrideKeepsTheShapeAndChangesTheBytes()
    {
        const auto f32 = loadModel({ "tiny", std::nullopt }, {});
        const auto q8 = loadModel({ "tiny", GgmlType::Q8_0 }, {});
        QCOMPARE(q8->config().dim, f32->config().dim);
        QCOMPARE(q8->config().layers, f32->config().layers);
        QCOMPARE(q8->parameterCount(), f32->parameterCount());
        QVERIFY(q8->weightBytes() < f32->weightBytes() / 2);
        // The same seed's weights, quantised: every value of a matrix within Q8_0's rounding of the F32 model's
        // (half a step of its block's scale max |w| / 127, plus the scale's own F16 rounding: under one step). Other
        // weights would differ by about max |w|.
        const WeightMatrix& a = f32->layers().front().wq;
        const WeightMatrix& b = q8->layers().front().wq;
        QCOMPARE(b.type, GgmlType::Q8_0);
        const size_t n = size_t(a.cols);
        std::vector<float> exact(n), quantised(n);
        for (int64_t r = 0; r < a.rows; ++r) {
            typeKernels(a.type).dequantizeRow(a.row(r), exact.data(), n);
            typeKernels(b.type).dequantizeRow(b.row(r), quantised.data(), n);
            for (size_t block = 0; block < n; block += 32) {
                float amax = 0;
                for (size_t i = block; i < block + 32; ++i)
                    amax = std::max(amax, std::abs(exact[i]));
                for (size_t i = block; i < block + 32; ++i)
                    QVERIFY(std::abs(exact[i] - quantised[i]) <= amax / 127.0f);
            }
        }
    }

    void unknownLessonIsNotFound()
    {
        QVERIFY(findLesson("no-such-lesson") == nullptr);
        QVERIFY(findLesson("") == nullptr);
        for (const Lesson* l : allLessons())
            QCOMPARE(findLesson(l->name()), l);
    }
};

QTEST_GUILESS_MAIN(TestLessons)
#include "test_lessons.moc"
