// Fuzz target: the session loader (session::SessionFile::parse: JSON, limits, every field, the zlib trace) and,
// on a session it accepted, saving it again and the HTML report.
// Fine: SessionError, the loader's one refusal. A session that was read must write and read back (a user who
// opens a file can save it), and its report must render. Anything else is a finding.
#include "session/htmlreport.h"
#include "session/sessionfile.h"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    session::Session s;
    try {
        s = session::SessionFile::parse(std::string(reinterpret_cast<const char*>(data), size));
    } catch (const session::SessionError&) {
        return 0;
    }
    const std::string saved = session::SessionFile::toJson(s).dump(1);
    const session::Session again = session::SessionFile::parse(saved);
    if (again.runs.size() != s.runs.size() || again.sweeps.size() != s.sweeps.size())
        std::abort();
    (void)session::HtmlReport::render(s);
    return 0;
}
