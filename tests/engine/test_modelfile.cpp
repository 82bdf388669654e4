// Model files that cannot be used safely: too large for the memory this process may use, shrunk or rewritten while
// mapped, holding NaN or Inf. Each is refused with a ModelFileError naming the file, never a crash.
#include "engine/format/gguffile.h"
#include "engine/format/mappedfile.h"
#include "engine/format/memorybudget.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace engine;
using namespace testsupport;

namespace {

void writeFile(const std::string& path, const std::vector<uint8_t>& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Sets PLAYGROUND_MEMORY_AVAILABLE for one scope.
struct ForcedBudget {
    explicit ForcedBudget(uint64_t bytes)
    {
        qputenv("PLAYGROUND_MEMORY_AVAILABLE", QByteArray::number(qulonglong(bytes)));
    }
    ~ForcedBudget() { qunsetenv("PLAYGROUND_MEMORY_AVAILABLE"); }
};

// Plants `value` as element `index` of an F32 tensor of GGUF `bytes`.
void plant(std::vector<uint8_t>& bytes, const std::string& tensor, size_t index, float value)
{
    const GgufFile parsed = GgufFile::fromMemory(bytes, "planted");
    const GgufTensorInfo* t = parsed.findTensor(tensor);
    QVERIFY(t != nullptr);
    QCOMPARE(t->type, GgmlType::F32);
    std::memcpy(bytes.data() + t->fileOffset + index * sizeof(float), &value, sizeof value);
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const ModelFileError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not a ModelFileError: ") + e.what();
    }
    return "no error";
}

} // namespace

class TestModelFile : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    // First, so the child is forked before this process has started any oneTBB thread.
    void fileTruncatedWhileLoadedStopsTheRunWithoutACrash()
    {
        if (!mappingGuardActive())
            QSKIP("the SIGBUS guard could not be installed (a sanitizer runtime keeps SIGBUS to itself)");
        const std::string path = tempPath(m_dir, QStringLiteral("shrinks.gguf"));
        writeFile(path, syntheticModelGguf(syntheticShape("tiny")));

        // In a child: without the guard, reading a page past the new end raises SIGBUS and ends the process, which
        // the parent sees as a signal, not as an exit code.
        const pid_t child = ::fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            int code = 0;
            try {
                auto model = Model::load(path);
                Scheduler scheduler({ 1, Partitioner::Auto, 1 });
                InferenceContext ctx(model);
                const std::vector<int32_t> prompt { 1, 100, 200 };
                ctx.eval(scheduler, prompt);
                if (::truncate(path.c_str(), 4096) != 0)
                    ::_exit(20);
                const int32_t next = 300;
                try {
                    ctx.eval(scheduler, { &next, 1 });
                    code = 10; // the step went through on a shrunk file
                } catch (const ModelFileError& e) {
                    const std::string m = e.what();
                    code = m.find(path) != std::string::npos && m.find("changed or shrank") != std::string::npos
                            && m.find("reload it") != std::string::npos
                        ? 0
                        : 11;
                }
                // The next load reads the file as it is now, and refuses it.
                if (code == 0 && errorOf([&] { Model::load(path); }).find(path) == std::string::npos)
                    code = 12;
            } catch (...) {
                code = 13;
            }
            ::_exit(code);
        }
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY2(WIFEXITED(status), "the child was killed by a signal: the shrunk mapping crashed it");
        QCOMPARE(WEXITSTATUS(status), 0);
    }

    // Large models are copied into anonymous memory at the same addresses (Model::load): the copy must hold the
    // file's bytes, stay where every pointer into the mapping points, belong to no file (so a truncation can no
    // longer fault), and still report the change so results are refused as for a mapping.
    void fileCopiedIntoMemoryKeepsItsBytesWhenTheFileShrinks()
    {
        const std::string path = tempPath(m_dir, QStringLiteral("copied.gguf"));
        const std::vector<uint8_t> original = syntheticModelGguf(syntheticShape("tiny"));
        writeFile(path, original);
        MappedFile file(path);
        const uint8_t* before = file.bytes().data();
        QVERIFY(!file.inAnonymousMemory());
        QVERIFY(file.copyIntoAnonymousMemory());
        QVERIFY(file.inAnonymousMemory());
        QCOMPARE(file.bytes().data(), before);
        QCOMPARE(file.bytes().size(), original.size());
        // /proc/self/maps: the range starting at the mapping's address has no file (inode 0) now.
        std::ifstream maps("/proc/self/maps");
        std::string line, range;
        char start[32];
        std::snprintf(start, sizeof start, "%lx-", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(before)));
        while (std::getline(maps, line))
            if (line.rfind(start, 0) == 0)
                range = line;
        QVERIFY2(!range.empty() && range.find(path) == std::string::npos, range.c_str());
        QVERIFY(::truncate(path.c_str(), 4096) == 0);
        QVERIFY(std::memcmp(file.bytes().data(), original.data(), original.size()) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the file's status is asked at most every 10 ms
        QVERIFY(file.changedSinceMapped());
    }

    void fileRewrittenInPlaceStopsTheRun()
    {
        const std::string path = tempPath(m_dir, QStringLiteral("rewritten.gguf"));
        writeFile(path, syntheticModelGguf(syntheticShape("tiny")));
        auto model = Model::load(path);
        Scheduler scheduler({ 1, Partitioner::Auto, 1 });
        InferenceContext ctx(model);
        const std::vector<int32_t> prompt { 1, 100, 200 };
        ctx.eval(scheduler, prompt);
        // Same size, one byte written in place (as an editor or a download would), a later modification time.
        {
            const int fd = ::open(path.c_str(), O_WRONLY);
            QVERIFY(fd >= 0);
            const char zero = 0;
            QCOMPARE(::pwrite(fd, &zero, 1, 200000), ssize_t(1));
            const timespec times[2] = { { 0, UTIME_NOW }, { 1'000'000'000, 0 } };
            QCOMPARE(::futimens(fd, times), 0);
            ::close(fd);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the file's status is asked at most every 10 ms
        const int32_t next = 300;
        const std::string m = errorOf([&] { ctx.eval(scheduler, { &next, 1 }); });
        QVERIFY2(m.find(path) != std::string::npos && m.find("changed or shrank") != std::string::npos, m.c_str());
        // A file replaced by a rename is not a change: the mapping keeps the old file.
        const std::string other = tempPath(m_dir, QStringLiteral("renamed.gguf"));
        writeFile(other, syntheticModelGguf(syntheticShape("tiny")));
        auto kept = Model::load(other);
        InferenceContext ctx2(kept);
        ctx2.eval(scheduler, prompt);
        writeFile(other + ".new", syntheticModelGguf(syntheticShape("tiny"), 99));
        QCOMPARE(::rename((other + ".new").c_str(), other.c_str()), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ctx2.eval(scheduler, { &next, 1 }); // no throw
    }

    void modelLargerThanTheMemoryIsRefusedWithTheNumbers()
    {
        const std::string path = tempPath(m_dir, QStringLiteral("big.gguf"));
        const auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        writeFile(path, bytes);
        {
            // Less than the file: refused before it is mapped.
            ForcedBudget budget(1 << 20);
            const std::string m = errorOf([&] { Model::load(path); });
            QVERIFY2(m.find(path) != std::string::npos, m.c_str());
            QVERIFY2(m.find("too large for the memory available") != std::string::npos, m.c_str());
            QVERIFY2(m.find("PLAYGROUND_MEMORY_AVAILABLE 1.0 MiB") != std::string::npos, m.c_str());
            QVERIFY2(m.find("the file mapped") != std::string::npos, m.c_str());
        }
        {
            // The file fits, the file with its KV cache (4 layers × 2 × 64 × 512 tokens × 4 bytes = 1 MiB) does not.
            ForcedBudget budget(bytes.size() + 4096);
            const std::string m = errorOf([&] { Model::load(path); });
            QVERIFY2(m.find(path) != std::string::npos, m.c_str());
            QVERIFY2(m.find("KV cache of 512 tokens") != std::string::npos, m.c_str());
        }
        {
            ForcedBudget budget(uint64_t(1) << 40);
            QVERIFY(Model::load(path) != nullptr);
        }
        {
            // A synthetic shape is refused before it is built, named as the CLI and the window name it.
            ForcedBudget budget(64 << 20);
            const std::string m = errorOf([] { makeSyntheticModel("tiny"); });
            QVERIFY2(m.find("synthetic:tiny") != std::string::npos, m.c_str());
            QVERIFY2(m.find("too large for the memory available") != std::string::npos, m.c_str());
        }
        // Without the test's setting the budget comes from the machine, and says from where.
        const MemoryBudget real = MemoryBudget::current();
        QVERIFY(real.available > 0);
        QVERIFY2(QByteArray::fromStdString(real.detail).contains("MemAvailable"), real.detail.c_str());
    }

    void nanOrInfInAWeightIsNamedAtTheFirstLogits()
    {
        auto bytes = syntheticModelGguf(syntheticShape("tiny"));
        plant(bytes, "blk.1.ffn_down.weight", 777, std::numeric_limits<float>::quiet_NaN());
        plant(bytes, "blk.3.attn_v.weight", 128 * 5 + 3, std::numeric_limits<float>::infinity());
        const std::string path = tempPath(m_dir, QStringLiteral("nan.gguf"));
        writeFile(path, bytes);
        auto model = Model::load(path);
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        InferenceContext ctx(model);
        const std::vector<int32_t> prompt { 1, 100, 200 };
        const std::string m = errorOf([&] { ctx.eval(scheduler, prompt); });
        QVERIFY2(m.find(path) != std::string::npos, m.c_str());
        // ffn_down is (dim 128 rows of hidden 384): element 777 is in row 2; attn_v's element 643 in row 5.
        QVERIFY2(m.find("'blk.1.ffn_down.weight' (row 2)") != std::string::npos, m.c_str());
        QVERIFY2(m.find("'blk.3.attn_v.weight' (row 5)") != std::string::npos, m.c_str());
        // A clean model has none.
        QVERIFY(makeSyntheticModel("tiny")->nonFiniteTensors().empty());
    }
};

QTEST_GUILESS_MAIN(TestModelFile)
#include "test_modelfile.moc"
