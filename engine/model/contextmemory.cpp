#include "engine/model/contextmemory.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace engine {

namespace {
struct ContextPool {
    std::mutex mutex;
    std::deque<std::pair<size_t, float*>> blocks; // (floats, block), the most recently released last
    size_t bytes = 0;
};

// Never destroyed: a context may end during static destruction, after a pool with static storage would be gone. The
// blocks it holds stay reachable from it.
ContextPool& pool()
{
    static ContextPool* const instance = new ContextPool;
    return *instance;
}
} // namespace

void ContextBlockRelease::operator()(float* block) const noexcept
{
    if (!block)
        return;
    const size_t blockBytes = elems * sizeof(float);
    if (blockBytes > kContextPoolBytes) {
        delete[] block;
        return;
    }
    std::vector<float*> dropped;
    {
        ContextPool& p = pool();
        std::lock_guard lock(p.mutex);
        p.blocks.emplace_back(elems, block);
        p.bytes += blockBytes;
        while (p.bytes > kContextPoolBytes) {
            p.bytes -= p.blocks.front().first * sizeof(float);
            dropped.push_back(p.blocks.front().second);
            p.blocks.pop_front();
        }
    }
    for (float* d : dropped)
        delete[] d;
}

std::unique_ptr<float[], ContextBlockRelease> acquireContextBlock(size_t elems)
{
    {
        ContextPool& p = pool();
        std::lock_guard lock(p.mutex);
        const auto it = std::find_if(
            p.blocks.rbegin(), p.blocks.rend(), [&](const std::pair<size_t, float*>& b) { return b.first == elems; });
        if (it != p.blocks.rend()) {
            float* block = it->second;
            p.bytes -= elems * sizeof(float);
            p.blocks.erase(std::next(it).base());
            return { block, ContextBlockRelease { elems } };
        }
    }
    return { new float[elems], ContextBlockRelease { elems } }; // default-initialised: left unwritten
}

void releaseContextPool()
{
    std::deque<std::pair<size_t, float*>> dropped;
    {
        ContextPool& p = pool();
        std::lock_guard lock(p.mutex);
        dropped.swap(p.blocks);
        p.bytes = 0;
    }
    for (const auto& block : dropped)
        delete[] block.second;
}

size_t contextPoolBytes()
{
    ContextPool& p = pool();
    std::lock_guard lock(p.mutex);
    return p.bytes;
}

} // namespace engine
