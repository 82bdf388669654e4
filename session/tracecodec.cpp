#include "session/tracecodec.h"

#include <zlib.h>

#include <array>
#include <limits>
#include <stdexcept>

namespace session {

namespace {

constexpr int kColumns = 10;
constexpr int kWorkers = 1 << 16; // int16 worker ids, offset by 32768
// A varint holds at most 10 bytes: the decompressed stream can never be longer than this per event.
constexpr uint64_t kMaxBytesPerEvent = uint64_t(kColumns) * 10;

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
// Differences and sums wrap instead of overflowing: any int64 pair encodes, and hostile data decodes to garbage
// values (refused by the range checks where a field is narrower), never to undefined behaviour.
int64_t wrapSub(int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }
int64_t wrapAdd(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
int64_t unzigzag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

void putVarint(std::string& out, uint64_t v)
{
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(uint8_t(v)));
}

class Reader {
public:
    Reader(const std::string& data)
        : m_data(data)
    {
    }
    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_data.size())
                throw std::runtime_error("trace data truncated");
            const auto byte = uint8_t(m_data[m_pos++]);
            v |= uint64_t(byte & 0x7f) << shift;
            if (!(byte & 0x80))
                return v;
        }
        throw std::runtime_error("trace data corrupt (an overlong number)");
    }
    int64_t signedVarint() { return unzigzag(varint()); }
    bool atEnd() const { return m_pos == m_data.size(); }

private:
    const std::string& m_data;
    size_t m_pos = 0;
};

template <class T> T narrow(int64_t v, const char* what)
{
    if (v < int64_t(std::numeric_limits<T>::min()) || v > int64_t(std::numeric_limits<T>::max()))
        throw std::runtime_error(std::string("trace data corrupt (") + what + " out of range)");
    return T(v);
}

std::string compress(const std::string& raw)
{
    uLongf size = compressBound(uLong(raw.size()));
    std::string out(size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
            uLong(raw.size()), 6)
        != Z_OK)
        throw std::runtime_error("cannot compress the trace");
    out.resize(size);
    return out;
}

// Inflates at most `limit` bytes; more is corrupt (a bomb), less is for the caller to judge.
std::string inflateBounded(const std::string& compressed, uint64_t limit)
{
    z_stream z {};
    if (inflateInit(&z) != Z_OK)
        throw std::runtime_error("cannot start zlib");
    std::string out;
    std::array<char, 1 << 16> buffer {};
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = uInt(compressed.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef*>(buffer.data());
        z.avail_out = uInt(buffer.size());
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            throw std::runtime_error(rc == Z_BUF_ERROR ? "trace data truncated" : "trace data corrupt (zlib)");
        }
        const size_t produced = buffer.size() - z.avail_out;
        if (out.size() + produced > limit) {
            inflateEnd(&z);
            throw std::runtime_error("trace data corrupt (longer than its event count allows)");
        }
        out.append(buffer.data(), produced);
        if (rc == Z_OK && produced == 0 && z.avail_in == 0) {
            inflateEnd(&z);
            throw std::runtime_error("trace data truncated");
        }
    }
    inflateEnd(&z);
    return out;
}

} // namespace

std::string TraceCodec::encode(const std::vector<engine::TraceEvent>& events)
{
    std::array<std::string, kColumns> columns;
    for (auto& c : columns)
        c.reserve(events.size() * 2);
    std::vector<int64_t> lastBegin(kWorkers, 0), lastFirst(kWorkers, 0), lastPosition(kWorkers, 0);
    for (const engine::TraceEvent& e : events) {
        const int w = int(e.worker) + 32768;
        putVarint(columns[0], zigzag(e.worker));
        putVarint(columns[1], uint8_t(e.op));
        putVarint(columns[2], e.tokens);
        putVarint(columns[3], zigzag(e.layer));
        putVarint(columns[4], zigzag(e.sequence));
        putVarint(columns[5], zigzag(wrapSub(e.beginNs, lastBegin[w])));
        putVarint(columns[6], zigzag(wrapSub(e.endNs, e.beginNs)));
        putVarint(columns[7], zigzag(int64_t(e.first) - lastFirst[w]));
        putVarint(columns[8], zigzag(int64_t(e.last) - int64_t(e.first)));
        putVarint(columns[9], zigzag(int64_t(e.position) - lastPosition[w]));
        lastBegin[w] = e.beginNs;
        lastFirst[w] = e.first;
        lastPosition[w] = e.position;
    }
    std::string raw;
    size_t total = 0;
    for (const auto& c : columns)
        total += c.size();
    raw.reserve(total);
    for (const auto& c : columns)
        raw += c;
    return compress(raw);
}

std::vector<engine::TraceEvent> TraceCodec::decode(const std::string& compressed, uint64_t count)
{
    if (count > kMaxEvents)
        throw std::runtime_error(
            "the trace claims " + std::to_string(count) + " events, more than " + std::to_string(kMaxEvents));
    if (count == 0 && compressed.empty())
        return {};
    const std::string raw = inflateBounded(compressed, count * kMaxBytesPerEvent);
    // Every field takes at least a byte: a shorter stream cannot hold `count` events, so nothing is
    // allocated for a count the data does not back.
    if (raw.size() < count * kColumns)
        throw std::runtime_error("trace data truncated (fewer bytes than its event count needs)");
    // Each column is read in full before the next: the columns are laid out one after the other.
    std::vector<engine::TraceEvent> events(count);
    Reader r(raw);
    for (auto& e : events)
        e.worker = narrow<int16_t>(r.signedVarint(), "worker");
    for (auto& e : events) {
        const uint64_t op = r.varint();
        if (op >= uint64_t(engine::Op::Count_))
            throw std::runtime_error("trace data corrupt (unknown op)");
        e.op = engine::Op(op);
    }
    for (auto& e : events)
        e.tokens = narrow<uint8_t>(int64_t(std::min<uint64_t>(r.varint(), 1u << 16)), "tokens");
    for (auto& e : events)
        e.layer = narrow<int16_t>(r.signedVarint(), "layer");
    for (auto& e : events)
        e.sequence = narrow<int16_t>(r.signedVarint(), "sequence");
    std::vector<int64_t> last(kWorkers, 0);
    for (auto& e : events) {
        int64_t& l = last[size_t(int(e.worker) + 32768)];
        e.beginNs = wrapAdd(l, r.signedVarint());
        l = e.beginNs;
    }
    for (auto& e : events)
        e.endNs = wrapAdd(e.beginNs, r.signedVarint());
    std::fill(last.begin(), last.end(), 0);
    for (auto& e : events) {
        int64_t& l = last[size_t(int(e.worker) + 32768)];
        e.first = narrow<uint32_t>(wrapAdd(l, r.signedVarint()), "first");
        l = e.first;
    }
    for (auto& e : events)
        e.last = narrow<uint32_t>(wrapAdd(e.first, r.signedVarint()), "last");
    std::fill(last.begin(), last.end(), 0);
    for (auto& e : events) {
        int64_t& l = last[size_t(int(e.worker) + 32768)];
        e.position = narrow<int32_t>(wrapAdd(l, r.signedVarint()), "position");
        l = e.position;
    }
    if (!r.atEnd())
        throw std::runtime_error("trace data corrupt (bytes after the last event)");
    return events;
}

} // namespace session
