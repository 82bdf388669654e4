#include "engine/format/gguffile.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>

namespace engine {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

namespace {

// Limits that keep a hostile file from making us allocate or recurse without bound. Real models stay far
// below them: the largest vocabularies have ~256k entries, arrays nest at most twice.
constexpr int kMaxArrayDepth = 8;
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 24;
constexpr uint64_t kMaxTensorElements = uint64_t(1) << 48;
constexpr uint32_t kMaxDims = 4;
// Decoded metadata (keys, values, arrays) may take at most this much memory. Real models need a few MiB to a few
// tens of MiB (a 256k-entry vocabulary with its merges); a file claiming more is refused, whatever its size.
constexpr uint64_t kMaxMetadataBytes = uint64_t(256) << 20;

bool isKnownValueType(uint32_t t) { return t <= uint32_t(GgufValueType::Float64); }

bool isUnsignedType(GgufValueType t)
{
    return t == GgufValueType::UInt8 || t == GgufValueType::UInt16 || t == GgufValueType::UInt32
        || t == GgufValueType::UInt64;
}

bool isSignedType(GgufValueType t)
{
    return t == GgufValueType::Int8 || t == GgufValueType::Int16 || t == GgufValueType::Int32
        || t == GgufValueType::Int64;
}

bool isFloatType(GgufValueType t) { return t == GgufValueType::Float32 || t == GgufValueType::Float64; }

bool isIntegerType(GgufValueType t) { return isUnsignedType(t) || isSignedType(t); }

bool isNumberType(GgufValueType t) { return isIntegerType(t) || isFloatType(t); }

// The fewest bytes one value of the type can occupy inside an array; bounds array counts before any allocation.
uint64_t minEncodedSize(GgufValueType t)
{
    switch (t) {
    case GgufValueType::UInt8:
    case GgufValueType::Int8:
    case GgufValueType::Bool:
        return 1;
    case GgufValueType::UInt16:
    case GgufValueType::Int16:
        return 2;
    case GgufValueType::UInt32:
    case GgufValueType::Int32:
    case GgufValueType::Float32:
        return 4;
    case GgufValueType::UInt64:
    case GgufValueType::Int64:
    case GgufValueType::Float64:
    case GgufValueType::String: // the u64 length
        return 8;
    case GgufValueType::Array: // u32 element type + u64 count
        return 12;
    }
    return 1;
}

// Names and keys come from the file; keep messages printable and short whatever the bytes are.
std::string printable(std::string_view s, size_t maxLength = 80)
{
    std::string out;
    for (size_t i = 0; i < s.size() && i < maxLength; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += char(c); // bytes >= 0x80 pass through so UTF-8 stays readable
        }
    }
    if (s.size() > maxLength)
        out += "...";
    return out;
}

std::string quoted(std::string_view s)
{
    // Appending, not "'" + std::string, which trips GCC 12's false -Wrestrict warning (GCC bug 105329).
    std::string out = "'";
    out += printable(s);
    out += '\'';
    return out;
}

std::string typeDescription(const GgufValue& v)
{
    if (v.type() == GgufValueType::Array)
        return std::string("array of ") + ggufValueTypeName(v.elementType());
    return ggufValueTypeName(v.type());
}

// A cursor over the file that checks every read against the end before touching memory.
class Reader {
public:
    Reader(std::span<const uint8_t> bytes, const std::string& name)
        : m_bytes(bytes)
        , m_name(name)
    {
    }

    uint64_t pos() const { return m_pos; }
    uint64_t remaining() const { return m_bytes.size() - m_pos; }

    [[noreturn]] void fail(uint64_t offset, const std::string& problem) const
    {
        throw ModelFileError(m_name, offset, problem);
    }

    template <typename T> T read(const char* what)
    {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_bytes.data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }

    // `what` and `key` only go into error messages, so they are not formatted unless something is wrong.
    std::string readString(const char* what, std::string_view key = {})
    {
        const uint64_t at = m_pos;
        const uint64_t length = read<uint64_t>("string length");
        if (length > remaining())
            fail(at,
                "string length " + std::to_string(length) + " of " + what
                    + (key.empty() ? std::string() : " of metadata key " + quoted(key))
                    + " runs past the end of the file (only " + std::to_string(remaining()) + " bytes left)");
        std::string s(reinterpret_cast<const char*>(m_bytes.data() + m_pos), size_t(length));
        m_pos += length;
        return s;
    }

    std::span<const uint8_t> readBytes(uint64_t n, const char* what)
    {
        need(n, what);
        const auto out = m_bytes.subspan(size_t(m_pos), size_t(n));
        m_pos += n;
        return out;
    }

    // Decoded metadata's memory, against kMaxMetadataBytes.
    void charge(uint64_t bytes, std::string_view key)
    {
        m_metadataBytes += bytes;
        if (m_metadataBytes > kMaxMetadataBytes)
            fail(m_pos,
                "metadata would take more than " + std::to_string(kMaxMetadataBytes >> 20) + " MiB of memory (at key "
                    + quoted(key) + "); no real model needs that much");
    }

    // Count fields are checked against what the rest of the file could possibly hold, so a corrupt count is
    // reported here instead of turning into a huge allocation later.
    uint64_t readCount(const char* what, uint64_t minBytesPerItem)
    {
        const uint64_t at = m_pos;
        const uint64_t count = read<uint64_t>(what);
        if (count > remaining() / minBytesPerItem)
            fail(at,
                std::string(what) + " " + std::to_string(count) + " cannot fit in the remaining "
                    + std::to_string(remaining()) + " bytes");
        return count;
    }

private:
    void need(uint64_t n, const char* what) const
    {
        if (n > remaining())
            fail(m_pos,
                std::string("unexpected end of file reading ") + what + " (need " + std::to_string(n) + " bytes, only "
                    + std::to_string(remaining()) + " left)");
    }

    std::span<const uint8_t> m_bytes;
    const std::string& m_name;
    uint64_t m_pos = 0;
    uint64_t m_metadataBytes = 0;
};

} // namespace

// Builds an array value's compact storage (GgufValue::Array), element by element.
class GgufArrayBuilder {
public:
    explicit GgufArrayBuilder(GgufValueType elementType)
        : m_elementType(elementType)
        , m_array(std::make_shared<GgufValue::Array>())
    {
    }

    void addRaw(std::span<const uint8_t> bytes, size_t count)
    {
        m_array->raw.insert(m_array->raw.end(), bytes.begin(), bytes.end());
        m_array->count += count;
    }
    void addString(std::string_view s)
    {
        m_array->chars.append(s);
        m_array->ends.push_back(m_array->chars.size());
        ++m_array->count;
    }
    void addValue(GgufValue v)
    {
        m_array->values.push_back(std::move(v));
        ++m_array->count;
    }
    // A scalar element, stored as the file would store it.
    void addScalar(const GgufValue& e)
    {
        uint8_t bytes[8] = {};
        const size_t size = size_t(minEncodedSize(m_elementType));
        if (m_elementType == GgufValueType::Float32) {
            const float f = float(e.asFloat());
            std::memcpy(bytes, &f, 4);
        } else if (m_elementType == GgufValueType::Float64) {
            const double d = e.asFloat();
            std::memcpy(bytes, &d, 8);
        } else if (m_elementType == GgufValueType::Bool) {
            bytes[0] = e.asBool() ? 1 : 0;
        } else if (isSignedType(m_elementType)) {
            const int64_t v = e.asInt();
            std::memcpy(bytes, &v, size); // little-endian: the low bytes first
        } else {
            const uint64_t v = e.asUInt();
            std::memcpy(bytes, &v, size);
        }
        addRaw(std::span<const uint8_t>(bytes, size), 1);
    }

    GgufValue finish()
    {
        GgufValue value;
        value.m_type = GgufValueType::Array;
        value.m_elementType = m_elementType;
        value.m_array = std::move(m_array);
        return value;
    }

private:
    GgufValueType m_elementType;
    std::shared_ptr<GgufValue::Array> m_array;
};

namespace {

GgufValue readValue(Reader& r, GgufValueType type, const std::string& key, int depth);

GgufValue readArray(Reader& r, const std::string& key, int depth)
{
    const uint64_t at = r.pos();
    if (depth >= kMaxArrayDepth)
        r.fail(at,
            "arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels in metadata key " + quoted(key));
    const uint32_t rawElementType = r.read<uint32_t>("array element type");
    if (!isKnownValueType(rawElementType))
        r.fail(at, "unknown array element type " + std::to_string(rawElementType) + " in metadata key " + quoted(key));
    const auto elementType = GgufValueType(rawElementType);
    const uint64_t countAt = r.pos();
    const uint64_t count = r.readCount("array element count", minEncodedSize(elementType));
    if (count > kMaxArrayElements)
        r.fail(countAt,
            "array element count " + std::to_string(count) + " in metadata key " + quoted(key)
                + " exceeds the limit of " + std::to_string(kMaxArrayElements));
    GgufArrayBuilder array(elementType);
    if (elementType == GgufValueType::String) {
        // Each string costs its characters and one end offset; its length field in the file is as large.
        for (uint64_t i = 0; i < count; ++i) {
            const uint64_t stringAt = r.pos();
            const uint64_t length = r.read<uint64_t>("string length");
            if (length > r.remaining())
                r.fail(stringAt,
                    "string length " + std::to_string(length) + " of array element " + std::to_string(i)
                        + " of metadata key " + quoted(key) + " runs past the end of the file (only "
                        + std::to_string(r.remaining()) + " bytes left)");
            r.charge(length + sizeof(uint64_t), key);
            const auto chars = r.readBytes(length, "string value");
            array.addString(std::string_view(reinterpret_cast<const char*>(chars.data()), chars.size()));
        }
    } else if (elementType == GgufValueType::Array) {
        for (uint64_t i = 0; i < count; ++i) {
            GgufValue nested = readArray(r, key, depth + 1);
            r.charge(sizeof(GgufValue), key); // its own elements were charged while it was read
            array.addValue(std::move(nested));
        }
    } else {
        // Numbers and bools: the file's bytes, copied as they are (the count was checked against the file's size).
        const uint64_t size = minEncodedSize(elementType);
        const uint64_t bytesAt = r.pos();
        r.charge(count * size, key);
        const auto bytes = r.readBytes(count * size, "array elements");
        if (elementType == GgufValueType::Bool)
            for (uint64_t i = 0; i < count; ++i)
                if (bytes[i] > 1)
                    r.fail(bytesAt + i,
                        "invalid bool value " + std::to_string(bytes[i]) + " in metadata key " + quoted(key));
        array.addRaw(bytes, count);
    }
    return array.finish();
}

GgufValue readValue(Reader& r, GgufValueType type, const std::string& key, int depth)
{
    switch (type) {
    case GgufValueType::UInt8:
        return GgufValue::fromUInt(type, r.read<uint8_t>("uint8 value"));
    case GgufValueType::UInt16:
        return GgufValue::fromUInt(type, r.read<uint16_t>("uint16 value"));
    case GgufValueType::UInt32:
        return GgufValue::fromUInt(type, r.read<uint32_t>("uint32 value"));
    case GgufValueType::UInt64:
        return GgufValue::fromUInt(type, r.read<uint64_t>("uint64 value"));
    case GgufValueType::Int8:
        return GgufValue::fromInt(type, r.read<int8_t>("int8 value"));
    case GgufValueType::Int16:
        return GgufValue::fromInt(type, r.read<int16_t>("int16 value"));
    case GgufValueType::Int32:
        return GgufValue::fromInt(type, r.read<int32_t>("int32 value"));
    case GgufValueType::Int64:
        return GgufValue::fromInt(type, r.read<int64_t>("int64 value"));
    case GgufValueType::Float32:
        return GgufValue::fromFloat(type, r.read<float>("float32 value"));
    case GgufValueType::Float64:
        return GgufValue::fromFloat(type, r.read<double>("float64 value"));
    case GgufValueType::Bool: {
        const uint64_t at = r.pos();
        const uint8_t b = r.read<uint8_t>("bool value");
        if (b > 1)
            r.fail(at, "invalid bool value " + std::to_string(b) + " in metadata key " + quoted(key));
        return GgufValue::fromBool(b != 0);
    }
    case GgufValueType::String:
        return GgufValue::fromString(r.readString("string value", key));
    case GgufValueType::Array:
        return readArray(r, key, depth);
    }
    r.fail(r.pos(), "unknown metadata value type " + std::to_string(uint32_t(type)) + " for key " + quoted(key));
}

[[noreturn]] void throwWrongType(
    const std::string& path, std::string_view key, const GgufValue& v, const char* expected)
{
    throw ModelFileError(
        path, "metadata key " + quoted(key) + " has type " + typeDescription(v) + ", expected " + expected);
}

} // namespace

const char* ggufValueTypeName(GgufValueType type)
{
    switch (type) {
    case GgufValueType::UInt8:
        return "uint8";
    case GgufValueType::Int8:
        return "int8";
    case GgufValueType::UInt16:
        return "uint16";
    case GgufValueType::Int16:
        return "int16";
    case GgufValueType::UInt32:
        return "uint32";
    case GgufValueType::Int32:
        return "int32";
    case GgufValueType::Float32:
        return "float32";
    case GgufValueType::Bool:
        return "bool";
    case GgufValueType::String:
        return "string";
    case GgufValueType::Array:
        return "array";
    case GgufValueType::UInt64:
        return "uint64";
    case GgufValueType::Int64:
        return "int64";
    case GgufValueType::Float64:
        return "float64";
    }
    return "unknown";
}

// --- ModelFileError

ModelFileError::ModelFileError(const std::string& file, uint64_t offset, const std::string& problem)
    : std::runtime_error(file + ": at byte " + std::to_string(offset) + ": " + problem)
    , m_file(file)
    , m_offset(offset)
    , m_problem(problem)
{
}

ModelFileError::ModelFileError(const std::string& file, const std::string& problem)
    : std::runtime_error(file + ": " + problem)
    , m_file(file)
    , m_problem(problem)
{
}

// --- GgufValue

GgufValue GgufValue::fromUInt(GgufValueType type, uint64_t v)
{
    uint64_t max = 0;
    switch (type) {
    case GgufValueType::UInt8:
        max = std::numeric_limits<uint8_t>::max();
        break;
    case GgufValueType::UInt16:
        max = std::numeric_limits<uint16_t>::max();
        break;
    case GgufValueType::UInt32:
        max = std::numeric_limits<uint32_t>::max();
        break;
    case GgufValueType::UInt64:
        max = std::numeric_limits<uint64_t>::max();
        break;
    default:
        if (isSignedType(type)) {
            if (v > uint64_t(std::numeric_limits<int64_t>::max()))
                throw std::invalid_argument("GgufValue::fromUInt: value does not fit in a signed type");
            return fromInt(type, int64_t(v));
        }
        throw std::invalid_argument(
            std::string("GgufValue::fromUInt: not an integer type: ") + ggufValueTypeName(type));
    }
    if (v > max)
        throw std::invalid_argument(
            "GgufValue::fromUInt: " + std::to_string(v) + " does not fit in " + ggufValueTypeName(type));
    GgufValue value;
    value.m_type = type;
    value.m_u = v;
    return value;
}

GgufValue GgufValue::fromInt(GgufValueType type, int64_t v)
{
    int64_t min = 0;
    int64_t max = 0;
    switch (type) {
    case GgufValueType::Int8:
        min = std::numeric_limits<int8_t>::min();
        max = std::numeric_limits<int8_t>::max();
        break;
    case GgufValueType::Int16:
        min = std::numeric_limits<int16_t>::min();
        max = std::numeric_limits<int16_t>::max();
        break;
    case GgufValueType::Int32:
        min = std::numeric_limits<int32_t>::min();
        max = std::numeric_limits<int32_t>::max();
        break;
    case GgufValueType::Int64:
        min = std::numeric_limits<int64_t>::min();
        max = std::numeric_limits<int64_t>::max();
        break;
    default:
        if (isUnsignedType(type)) {
            if (v < 0)
                throw std::invalid_argument("GgufValue::fromInt: negative value for an unsigned type");
            return fromUInt(type, uint64_t(v));
        }
        throw std::invalid_argument(std::string("GgufValue::fromInt: not an integer type: ") + ggufValueTypeName(type));
    }
    if (v < min || v > max)
        throw std::invalid_argument(
            "GgufValue::fromInt: " + std::to_string(v) + " does not fit in " + ggufValueTypeName(type));
    GgufValue value;
    value.m_type = type;
    value.m_i = v;
    return value;
}

GgufValue GgufValue::fromFloat(GgufValueType type, double v)
{
    if (!isFloatType(type))
        throw std::invalid_argument(std::string("GgufValue::fromFloat: not a float type: ") + ggufValueTypeName(type));
    GgufValue value;
    value.m_type = type;
    // Store what the file will hold, so a value read back compares equal to the one written.
    value.m_f = type == GgufValueType::Float32 ? double(float(v)) : v;
    return value;
}

GgufValue GgufValue::fromBool(bool v)
{
    GgufValue value;
    value.m_type = GgufValueType::Bool;
    value.m_u = v ? 1 : 0;
    return value;
}

GgufValue GgufValue::fromString(std::string v)
{
    GgufValue value;
    value.m_type = GgufValueType::String;
    value.m_s = std::move(v);
    return value;
}

GgufValue GgufValue::fromArray(GgufValueType elementType, const std::vector<GgufValue>& elements)
{
    if (uint32_t(elementType) > uint32_t(GgufValueType::Float64))
        throw std::invalid_argument("GgufValue::fromArray: unknown element type");
    GgufArrayBuilder array(elementType);
    for (const GgufValue& e : elements) {
        if (e.type() != elementType)
            throw std::invalid_argument(std::string("GgufValue::fromArray: element of type ")
                + ggufValueTypeName(e.type()) + " in an array of " + ggufValueTypeName(elementType));
        if (elementType == GgufValueType::String)
            array.addString(e.asString());
        else if (elementType == GgufValueType::Array)
            array.addValue(e);
        else
            array.addScalar(e);
    }
    return array.finish();
}

bool GgufValue::isInteger() const { return isIntegerType(m_type); }

bool GgufValue::isNumber() const { return isNumberType(m_type); }

uint64_t GgufValue::asUInt() const
{
    if (isUnsignedType(m_type))
        return m_u;
    if (isSignedType(m_type)) {
        if (m_i < 0)
            throw std::logic_error("GgufValue::asUInt: negative value " + std::to_string(m_i));
        return uint64_t(m_i);
    }
    throw std::logic_error(std::string("GgufValue::asUInt: value has type ") + ggufValueTypeName(m_type));
}

int64_t GgufValue::asInt() const
{
    if (isSignedType(m_type))
        return m_i;
    if (isUnsignedType(m_type)) {
        if (m_u > uint64_t(std::numeric_limits<int64_t>::max()))
            throw std::logic_error("GgufValue::asInt: value " + std::to_string(m_u) + " does not fit in int64");
        return int64_t(m_u);
    }
    throw std::logic_error(std::string("GgufValue::asInt: value has type ") + ggufValueTypeName(m_type));
}

double GgufValue::asFloat() const
{
    if (isFloatType(m_type))
        return m_f;
    if (isUnsignedType(m_type))
        return double(m_u);
    if (isSignedType(m_type))
        return double(m_i);
    throw std::logic_error(std::string("GgufValue::asFloat: value has type ") + ggufValueTypeName(m_type));
}

bool GgufValue::asBool() const
{
    if (m_type != GgufValueType::Bool)
        throw std::logic_error(std::string("GgufValue::asBool: value has type ") + ggufValueTypeName(m_type));
    return m_u != 0;
}

const std::string& GgufValue::asString() const
{
    if (m_type != GgufValueType::String)
        throw std::logic_error(std::string("GgufValue::asString: value has type ") + ggufValueTypeName(m_type));
    return m_s;
}

size_t GgufValue::arraySize() const
{
    if (m_type != GgufValueType::Array)
        throw std::logic_error(std::string("GgufValue::arraySize: value has type ") + ggufValueTypeName(m_type));
    return m_array ? m_array->count : 0;
}

std::string_view GgufValue::arrayString(size_t i) const
{
    if (m_type != GgufValueType::Array || m_elementType != GgufValueType::String)
        throw std::logic_error("GgufValue::arrayString: not an array of strings");
    if (i >= arraySize())
        throw std::out_of_range("GgufValue::arrayString: index " + std::to_string(i) + " out of range");
    const uint64_t begin = i == 0 ? 0 : m_array->ends[i - 1];
    return std::string_view(m_array->chars).substr(size_t(begin), size_t(m_array->ends[i] - begin));
}

GgufValue GgufValue::arrayElement(size_t i) const
{
    if (i >= arraySize())
        throw std::out_of_range("GgufValue::arrayElement: index " + std::to_string(i) + " out of range");
    if (m_elementType == GgufValueType::String)
        return fromString(std::string(arrayString(i)));
    if (m_elementType == GgufValueType::Array)
        return m_array->values[i];
    const size_t size = size_t(minEncodedSize(m_elementType));
    const uint8_t* p = m_array->raw.data() + i * size;
    auto load = [p]<typename T>(T) {
        T v;
        std::memcpy(&v, p, sizeof v);
        return v;
    };
    switch (m_elementType) {
    case GgufValueType::UInt8:
        return fromUInt(m_elementType, load(uint8_t {}));
    case GgufValueType::UInt16:
        return fromUInt(m_elementType, load(uint16_t {}));
    case GgufValueType::UInt32:
        return fromUInt(m_elementType, load(uint32_t {}));
    case GgufValueType::UInt64:
        return fromUInt(m_elementType, load(uint64_t {}));
    case GgufValueType::Int8:
        return fromInt(m_elementType, load(int8_t {}));
    case GgufValueType::Int16:
        return fromInt(m_elementType, load(int16_t {}));
    case GgufValueType::Int32:
        return fromInt(m_elementType, load(int32_t {}));
    case GgufValueType::Int64:
        return fromInt(m_elementType, load(int64_t {}));
    case GgufValueType::Float32:
        return fromFloat(m_elementType, load(float {}));
    case GgufValueType::Float64:
        return fromFloat(m_elementType, load(double {}));
    case GgufValueType::Bool:
        return fromBool(*p != 0);
    default:
        break;
    }
    throw std::logic_error("GgufValue::arrayElement: unknown element type");
}

uint64_t GgufValue::heapBytes() const
{
    uint64_t n = m_s.capacity() > 15 ? m_s.capacity() : 0;
    if (m_array) {
        n += sizeof(Array) + m_array->raw.capacity() + m_array->chars.capacity()
            + m_array->ends.capacity() * sizeof(uint64_t) + m_array->values.capacity() * sizeof(GgufValue);
        for (const GgufValue& v : m_array->values)
            n += v.heapBytes();
    }
    return n;
}

std::string GgufValue::toString(size_t maxArrayItems) const
{
    if (isUnsignedType(m_type))
        return std::to_string(m_u);
    if (isSignedType(m_type))
        return std::to_string(m_i);
    switch (m_type) {
    case GgufValueType::Float32:
    case GgufValueType::Float64: {
        std::ostringstream out;
        out.precision(m_type == GgufValueType::Float32 ? 9 : 17); // enough digits to read the value back exactly
        out << m_f;
        return out.str();
    }
    case GgufValueType::Bool:
        return m_u ? "true" : "false";
    case GgufValueType::String:
        return "\"" + printable(m_s, 200) + "\"";
    case GgufValueType::Array: {
        std::string out = "[";
        const size_t n = arraySize();
        for (size_t i = 0; i < n && i < maxArrayItems; ++i) {
            if (i)
                out += ", ";
            out += arrayElement(i).toString(maxArrayItems);
        }
        if (n > maxArrayItems)
            out += (maxArrayItems ? ", ... " : "... ") + std::to_string(n) + " items";
        return out + "]";
    }
    default:
        return "?";
    }
}

// --- GgufTensorInfo

uint64_t GgufTensorInfo::elementCount() const
{
    uint64_t n = 1;
    for (uint64_t d : dims)
        n *= d;
    return n;
}

// --- GgufFile

GgufFile GgufFile::open(const std::string& path)
{
    GgufFile file;
    file.m_path = path;
    try {
        file.m_mapping = std::make_shared<MappedFile>(path);
    } catch (const std::runtime_error& e) {
        // MappedFile already names the path; keep one ModelFileError type for every file problem.
        std::string problem = e.what();
        if (problem.starts_with(path + ": "))
            problem.erase(0, path.size() + 2);
        throw ModelFileError(path, problem);
    }
    file.m_bytes = file.m_mapping->bytes();
    file.parse();
    return file;
}

GgufFile GgufFile::fromMemory(std::span<const uint8_t> bytes, const std::string& name)
{
    GgufFile file;
    file.m_path = name;
    file.m_bytes = bytes;
    file.parse();
    return file;
}

void GgufFile::parse()
{
    Reader r(m_bytes, m_path);
    if (m_bytes.empty())
        r.fail(0, "file is empty, not a GGUF file");

    // Header (GGUF spec: magic, version, tensor count, metadata kv count).
    const uint64_t magicAt = r.pos();
    const uint32_t magic = r.read<uint32_t>("magic");
    if (magic != 0x46554747u) { // "GGUF" as little-endian bytes
        char found[32];
        std::snprintf(found, sizeof found, "%02x %02x %02x %02x", m_bytes[0], m_bytes[1], m_bytes[2], m_bytes[3]);
        r.fail(magicAt, std::string("bad magic: not a GGUF file (expected 47 47 55 46 \"GGUF\", found ") + found + ")");
    }
    const uint64_t versionAt = r.pos();
    m_version = r.read<uint32_t>("version");
    if (m_version != 2 && m_version != 3) {
        std::string hint;
        if (m_version == 0x02000000u || m_version == 0x03000000u)
            hint = " (a big-endian file?)";
        else if (m_version == 1)
            hint = " (version 1 files are obsolete; convert the model again)";
        r.fail(versionAt, "unsupported GGUF version " + std::to_string(m_version) + hint + ", expected 2 or 3");
    }
    // The smallest tensor info is an empty name (8), n_dims (4), one dim (8), type (4), offset (8).
    const uint64_t tensorCount = r.readCount("tensor count", 32);
    // The smallest metadata pair is an empty key (8), a value type (4) and a one-byte value.
    const uint64_t kvCount = r.readCount("metadata count", 13);

    // Metadata. Nothing is reserved from the counts: they are claims; memory follows what is really read.
    for (uint64_t i = 0; i < kvCount; ++i) {
        const uint64_t keyAt = r.pos();
        std::string key = r.readString("metadata key");
        if (m_metadataIndex.contains(key))
            r.fail(keyAt, "duplicate metadata key " + quoted(key));
        const uint64_t typeAt = r.pos();
        const uint32_t rawType = r.read<uint32_t>("metadata value type");
        if (!isKnownValueType(rawType))
            r.fail(typeAt, "unknown metadata value type " + std::to_string(rawType) + " for key " + quoted(key));
        const uint64_t valueAt = r.pos();
        GgufValue value = readValue(r, GgufValueType(rawType), key, 0);
        // The pair, its index entry (about the size of a map node) and what the value holds outside itself.
        r.charge(sizeof(m_metadata[0]) + 2 * key.size() + 64
                + (value.type() == GgufValueType::Array ? 0 : value.heapBytes()),
            key);

        if (key == "general.alignment") {
            // The spec makes it a uint32; ggml refuses any other type, and so do we.
            if (value.type() != GgufValueType::UInt32)
                r.fail(valueAt, "general.alignment has type " + typeDescription(value) + ", expected uint32");
            const uint64_t a = value.asUInt();
            // At least 8, as the spec asks: a smaller one lets tensor data sit misaligned for its element type, and
            // the kernels read floats in place (fuzz/gguf.cpp found a file with alignment 1 doing so).
            if (a < 8 || !std::has_single_bit(a))
                r.fail(valueAt, "general.alignment " + std::to_string(a) + " is not a power of two of at least 8");
            m_alignment = a;
        }
        m_metadataIndex.emplace(key, m_metadata.size());
        m_metadata.emplace_back(std::move(key), std::move(value));
    }

    // Tensor infos. Bounds against the data section are checked once its start is known.
    std::vector<uint64_t> offsetFieldAt;
    for (uint64_t i = 0; i < tensorCount; ++i) {
        GgufTensorInfo t;
        const uint64_t nameAt = r.pos();
        t.name = r.readString("tensor name");
        if (m_tensorIndex.contains(t.name))
            r.fail(nameAt, "duplicate tensor name " + quoted(t.name));

        const uint64_t dimsAt = r.pos();
        const uint32_t nDims = r.read<uint32_t>("tensor dimension count");
        if (nDims == 0 || nDims > kMaxDims)
            r.fail(dimsAt,
                "tensor " + quoted(t.name) + " has " + std::to_string(nDims) + " dimensions, expected 1 to "
                    + std::to_string(kMaxDims));
        uint64_t elements = 1;
        for (uint32_t d = 0; d < nDims; ++d) {
            const uint64_t dimAt = r.pos();
            const uint64_t dim = r.read<uint64_t>("tensor dimension");
            if (dim == 0)
                r.fail(dimAt, "tensor " + quoted(t.name) + " dimension " + std::to_string(d) + " is 0");
            // Division keeps the running product from overflowing before it is compared.
            if (dim >= kMaxTensorElements / elements)
                r.fail(dimAt,
                    "tensor " + quoted(t.name) + " has too many elements (dimension " + std::to_string(d) + " is "
                        + std::to_string(dim) + ")");
            elements *= dim;
            t.dims.push_back(dim);
        }

        const uint64_t typeAt = r.pos();
        const uint32_t rawType = r.read<uint32_t>("tensor type");
        const std::optional<GgmlTypeTraits> traits = ggmlTypeTraits(rawType);
        if (!traits)
            r.fail(typeAt, "unknown tensor type " + std::to_string(rawType) + " for tensor " + quoted(t.name));
        t.type = GgmlType(rawType);
        if (t.dims[0] % traits->blockSize != 0)
            r.fail(typeAt,
                "tensor " + quoted(t.name) + " row length " + std::to_string(t.dims[0]) + " is not a multiple of the "
                    + traits->name + " block size " + std::to_string(traits->blockSize));
        // Below 2^48 elements and at most 4 bytes per element: no overflow.
        t.nbytes = ggmlRowBytes(t.type, t.dims[0]) * (elements / t.dims[0]);

        const uint64_t offsetAt = r.pos();
        t.offset = r.read<uint64_t>("tensor data offset");
        if (t.offset % m_alignment != 0)
            r.fail(offsetAt,
                "tensor " + quoted(t.name) + " data offset " + std::to_string(t.offset)
                    + " is not a multiple of the alignment " + std::to_string(m_alignment));

        m_tensorIndex.emplace(t.name, m_tensors.size());
        m_tensors.push_back(std::move(t));
        offsetFieldAt.push_back(offsetAt);
    }

    // The data section starts at the next multiple of the alignment (pos <= size and alignment <= 2^31: no
    // overflow). A file without tensors may end before the padding.
    m_dataOffset = (r.pos() + m_alignment - 1) / m_alignment * m_alignment;
    const uint64_t available = m_dataOffset <= m_bytes.size() ? m_bytes.size() - m_dataOffset : 0;
    for (size_t i = 0; i < m_tensors.size(); ++i) {
        GgufTensorInfo& t = m_tensors[i];
        if (t.nbytes > available || t.offset > available - t.nbytes)
            r.fail(offsetFieldAt[i],
                "data of tensor " + quoted(t.name) + " (" + std::to_string(t.nbytes) + " bytes at data offset "
                    + std::to_string(t.offset) + ") runs past the end of the file (data section holds "
                    + std::to_string(available) + " bytes)");
        t.fileOffset = m_dataOffset + t.offset;
        t.data = m_bytes.data() + t.fileOffset;
    }
}

const GgufValue* GgufFile::find(std::string_view key) const
{
    auto it = m_metadataIndex.find(key);
    return it == m_metadataIndex.end() ? nullptr : &m_metadata[it->second].second;
}

const GgufTensorInfo* GgufFile::findTensor(std::string_view name) const
{
    auto it = m_tensorIndex.find(name);
    return it == m_tensorIndex.end() ? nullptr : &m_tensors[it->second];
}

namespace {
const GgufValue& require(const GgufFile& file, std::string_view key)
{
    const GgufValue* v = file.find(key);
    if (!v)
        throw ModelFileError(file.path(), "missing metadata key " + quoted(key));
    return *v;
}
} // namespace

std::string GgufFile::getString(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (v.type() != GgufValueType::String)
        throwWrongType(m_path, key, v, "string");
    return v.asString();
}

std::string GgufFile::getString(std::string_view key, const std::string& fallback) const
{
    return has(key) ? getString(key) : fallback;
}

uint64_t GgufFile::getUInt(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (!v.isInteger())
        throwWrongType(m_path, key, v, "an unsigned integer");
    if (isSignedType(v.type()) && v.asInt() < 0)
        throw ModelFileError(m_path,
            "metadata key " + quoted(key) + " is " + std::to_string(v.asInt()) + ", expected a non-negative integer");
    return v.asUInt();
}

uint64_t GgufFile::getUInt(std::string_view key, uint64_t fallback) const { return has(key) ? getUInt(key) : fallback; }

double GgufFile::getFloat(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (!v.isNumber())
        throwWrongType(m_path, key, v, "a number");
    return v.asFloat();
}

double GgufFile::getFloat(std::string_view key, double fallback) const { return has(key) ? getFloat(key) : fallback; }

bool GgufFile::getBool(std::string_view key, bool fallback) const
{
    const GgufValue* v = find(key);
    if (!v)
        return fallback;
    if (v->type() != GgufValueType::Bool)
        throwWrongType(m_path, key, *v, "bool");
    return v->asBool();
}

std::vector<std::string> GgufFile::getStringArray(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (v.type() != GgufValueType::Array || v.elementType() != GgufValueType::String)
        throwWrongType(m_path, key, v, "array of string");
    std::vector<std::string> out;
    out.reserve(v.arraySize());
    for (size_t i = 0; i < v.arraySize(); ++i)
        out.emplace_back(v.arrayString(i));
    return out;
}

std::vector<float> GgufFile::getFloatArray(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (v.type() != GgufValueType::Array || !isNumberType(v.elementType()))
        throwWrongType(m_path, key, v, "an array of numbers");
    std::vector<float> out;
    out.reserve(v.arraySize());
    for (size_t i = 0; i < v.arraySize(); ++i)
        out.push_back(float(v.arrayElement(i).asFloat()));
    return out;
}

std::vector<int32_t> GgufFile::getIntArray(std::string_view key) const
{
    const GgufValue& v = require(*this, key);
    if (v.type() != GgufValueType::Array || !isIntegerType(v.elementType()))
        throwWrongType(m_path, key, v, "an array of integers");
    std::vector<int32_t> out;
    out.reserve(v.arraySize());
    for (size_t i = 0; i < v.arraySize(); ++i) {
        const GgufValue e = v.arrayElement(i);
        const bool fits = isSignedType(e.type())
            ? e.asInt() >= std::numeric_limits<int32_t>::min() && e.asInt() <= std::numeric_limits<int32_t>::max()
            : e.asUInt() <= uint64_t(std::numeric_limits<int32_t>::max());
        if (!fits)
            throw ModelFileError(m_path,
                "metadata key " + quoted(key) + " element " + std::to_string(i) + " (" + e.toString()
                    + ") does not fit in int32");
        out.push_back(int32_t(isSignedType(e.type()) ? e.asInt() : int64_t(e.asUInt())));
    }
    return out;
}

} // namespace engine
