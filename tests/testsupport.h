// Fixtures the tests share: paths, files on disk, vocab-only GGUF files, greedy requests, token byte views.
#pragma once

#include "engine/format/ggufwriter.h"
#include "engine/measure/machine.h"
#include "engine/measure/roofline.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/generation.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"

#include <QByteArray>
#include <QDir>
#include <QProcessEnvironment>
#include <QString>
#include <QTemporaryDir>

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace testsupport {

// `name` inside `dir`, as the engine takes paths.
inline std::string tempPath(const QTemporaryDir& dir, const QString& name) { return dir.filePath(name).toStdString(); }

// Made-up ceilings of this machine's CPU model and core count: what tests give the run analysis instead of
// measuring the machine for seconds.
inline engine::MachinePeaks fakeMachinePeaks()
{
    engine::MachinePeaks p;
    p.cpu = engine::machineDescription().value("cpu", std::string("unknown CPU"));
    p.cores = engine::Scheduler::hardwareThreads();
    p.bandwidthGBps1 = 10;
    p.bandwidthGBpsAll = 16;
    p.peakGflops1 = 40;
    p.peakGflopsAll = 40.0 * p.cores;
    p.fmaKernel = engine::fmaKernelName(); // the cache is read only for the active level's kernel
    p.forkJoinNs1 = 200;
    p.forkJoinNsAll = 2000;
    return p;
}

// Writes fakeMachinePeaks() where engine::machinePeaks() looks under `cacheHome` (the XDG_CACHE_HOME a test gives
// a process), so that process reads them instead of measuring the machine.
inline void writeFakeRooflineCache(const QString& cacheHome)
{
    QDir(cacheHome).mkpath(QStringLiteral("llm-thread-playground"));
    std::ofstream out(QDir(cacheHome).filePath(QStringLiteral("llm-thread-playground/roofline.json")).toStdString());
    out << engine::toJson(fakeMachinePeaks()).dump(2) << '\n';
}

// The environment a test starts the window in (PLAYGROUND_GUI as a child process): offscreen, fresh settings under
// `dir` (default layout and size), and made-up ceilings in a cache there, so a run's analysis does not spend seconds
// measuring the machine.
inline QProcessEnvironment offscreenGuiEnvironment(const QTemporaryDir& dir)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.path());
    writeFakeRooflineCache(dir.filePath(QStringLiteral("cache")));
    env.insert(QStringLiteral("XDG_CACHE_HOME"), dir.filePath(QStringLiteral("cache")));
    return env;
}

// A file of tests/data (PLAYGROUND_TEST_DATA_DIR, set for every test by tests/CMakeLists.txt).
inline QString testDataPath(const char* name)
{
    return QStringLiteral(PLAYGROUND_TEST_DATA_DIR "/") + QString::fromLatin1(name);
}

// Writes `bytes` to `path`, replacing it.
inline void writeFile(const QString& path, const std::vector<uint8_t>& bytes)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// A GGUF with no tensors: general.architecture "llama" and the vocabulary's tokenizer.ggml.* keys.
inline void writeVocabGguf(const engine::Vocabulary& vocab, const std::string& path)
{
    engine::GgufWriter writer;
    writer.setString("general.architecture", "llama");
    vocab.writeTo(writer);
    writer.write(path);
}

// Greedy decoding of exactly maxTokens tokens (EOS does not stop it), so runs compare token for token.
inline engine::GenerationRequest greedyRequest(std::string prompt, int maxTokens)
{
    engine::GenerationRequest req;
    req.prompt = std::move(prompt);
    req.maxTokens = maxTokens;
    req.sampling.temperature = 0;
    req.stopAtEos = false;
    return req;
}

// The same bytes, seen from the other library.
inline std::string_view view(const QByteArray& b) { return std::string_view(b.constData(), size_t(b.size())); }
inline QByteArray bytes(std::string_view s) { return QByteArray(s.data(), qsizetype(s.size())); }

// The raw bytes of `ids`, token after token, with no UTF-8 repair (control tokens give nothing).
inline std::string rawBytes(const engine::Tokenizer& tok, const std::vector<int32_t>& ids)
{
    std::string s;
    for (int32_t id : ids)
        s += tok.tokenBytes(id);
    return s;
}

// `ids` streamed through a Detokenizer and flushed: the text a user would see.
inline std::string decodeAll(const engine::Tokenizer& tok, const std::vector<int32_t>& ids, bool stripLeadingSpace)
{
    engine::Detokenizer detok(tok, stripLeadingSpace);
    std::string text;
    for (int32_t id : ids)
        text += detok.push(id);
    return text + detok.flush();
}

} // namespace testsupport
