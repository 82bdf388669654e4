#include "session/htmlreport.h"

#include "engine/measure/sweepexport.h"
#include "engine/run/runsettings.h"
#include "session/comparison.h"
#include "session/labels.h"
#include "session/sessionfile.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace session {

namespace {

std::string esc(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string num(double v, int decimals)
{
    if (!std::isfinite(v))
        return "–";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return b;
}

// The op colours of the window's timeline (ui/timelineview.cpp, opColor), so the report reads like the window.
const char* opColour(engine::Op op)
{
    using engine::Op;
    switch (op) {
    case Op::AttnQ:
        return "#08306b";
    case Op::AttnK:
        return "#2b7bd0";
    case Op::AttnV:
        return "#9ecae1";
    case Op::Attention:
        return "#d62728";
    case Op::AttnOut:
        return "#17becf";
    case Op::FfnGate:
        return "#1b7837";
    case Op::FfnUp:
        return "#a6dba0";
    case Op::FfnGateUp:
        return "#52b35e";
    case Op::FfnDown:
        return "#00695c";
    case Op::Logits:
        return "#f07c12";
    case Op::RmsNorm:
        return "#9a9a9a";
    case Op::Rope:
        return "#d9c8a9";
    case Op::Serial:
        return "#4d4d4d";
    case Op::Embed:
        return "#8c510a";
    case Op::Sampling:
        return "#6a3d9a";
    case Op::Tokenize:
        return "#d291d0";
    case Op::Quantize:
        return "#e7298a";
    case Op::Residual:
        return "#7f7f3f";
    default:
        return "#e6c229";
    }
}

const char* const kStrategyColours[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b" };

std::string table(const std::vector<std::vector<std::string>>& rows, bool header = true)
{
    std::string h = "<table>";
    for (size_t r = 0; r < rows.size(); ++r) {
        h += "<tr>";
        for (const std::string& c : rows[r])
            h += (header && r == 0 ? "<th>" : "<td>") + c + (header && r == 0 ? "</th>" : "</td>");
        h += "</tr>";
    }
    return h + "</table>";
}

// A value as the report shows it: strings bare, fractions to four significant digits (the machine's memory, not
// 23.585994720458984), the rest as JSON.
std::string valueText(const nlohmann::json& v)
{
    if (v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() != std::round(v.get<double>())) {
        char b[32];
        std::snprintf(b, sizeof b, "%.4g", v.get<double>());
        return b;
    }
    return Comparison::valueText(v);
}

// Settings (a run's, a sweep's workload), two a row so the page stays one page; a run's prompts are shown with its
// outputs instead.
std::string settingsTable(const nlohmann::json& j, bool withPrompts)
{
    std::vector<std::vector<std::string>> rows { { "setting", "value", "setting", "value" } };
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "prompts" && !withPrompts)
            continue;
        if (rows.size() == 1 || rows.back().size() == 4)
            rows.push_back({});
        rows.back().push_back(esc(settingLabel(it.key())));
        rows.back().push_back(esc(valueText(it.value())));
    }
    if (rows.size() > 1)
        rows.back().resize(4);
    return table(rows);
}

// Two sets of settings: the differing ones highlighted, side by side; then the ones both share, two a row.
std::string settingsComparison(const nlohmann::json& a, const nlohmann::json& b, const std::string& nameA,
    const std::string& nameB, bool withPrompts)
{
    std::vector<std::vector<std::string>> differing { { "setting", esc(nameA), esc(nameB) } };
    std::vector<std::vector<std::string>> same { { "setting", "value", "setting", "value" } };
    for (const auto& setting : Comparison::settings(a, b)) {
        if (setting.key == "prompts" && !withPrompts)
            continue; // shown with the outputs
        if (setting.differs) {
            differing.push_back({ "<mark>" + esc(settingLabel(setting.key)) + "</mark>", esc(valueText(setting.a)),
                esc(valueText(setting.b)) });
            continue;
        }
        if (same.size() == 1 || same.back().size() == 4)
            same.push_back({});
        same.back().push_back(esc(settingLabel(setting.key)));
        same.back().push_back(esc(valueText(setting.a)));
    }
    if (same.size() > 1)
        same.back().resize(4);
    std::string h = differing.size() > 1 ? "<p>Settings that differ:</p>" + table(differing)
                                         : "<p>The settings are the same.</p>";
    if (same.size() > 1)
        h += "<p>The same in both:</p>" + table(same);
    return h;
}

std::string figuresTable(const RunRecord& a, const RunRecord* b, const std::string& nameA, const std::string& nameB)
{
    std::vector<std::vector<std::string>> rows;
    rows.push_back(b ? std::vector<std::string> { "figure", esc(nameA), esc(nameB), esc(nameB) + " ÷ " + esc(nameA) }
                     : std::vector<std::string> { "figure", "value" });
    const auto fa = Comparison::figures(a);
    const auto fb = b ? Comparison::figures(*b) : fa;
    for (size_t i = 0; i < fa.size(); ++i) {
        const auto& [name, value, decimals] = fa[i];
        if (!b) {
            rows.push_back({ esc(name), num(value, decimals) });
            continue;
        }
        const double ratio = Comparison::ratio(value, fb[i].value);
        rows.push_back({ esc(name), num(value, decimals), num(fb[i].value, decimals),
            std::isfinite(ratio) ? num(ratio, 2) + "×" : "–" });
    }
    return table(rows);
}

std::string outputs(const RunRecord& r)
{
    std::string h;
    for (size_t i = 0; i < r.settings.prompts.size(); ++i) {
        h += "<div class=out><span class=prompt>" + esc(r.settings.prompts[i]) + "</span>";
        if (i < r.sequences.size())
            h += esc(r.sequences[i].text);
        h += "</div>";
    }
    return h;
}

// Prompt by prompt, both outputs side by side: words only in A marked in A's column, words only in B in B's.
std::string outputsComparison(
    const RunRecord& a, const RunRecord& b, const std::string& nameA, const std::string& nameB)
{
    using Kind = Comparison::DiffPiece::Kind;
    auto prompt = [](const RunRecord& r, size_t i) {
        return i < r.settings.prompts.size() ? r.settings.prompts[i] : std::string();
    };
    auto text
        = [](const RunRecord& r, size_t i) { return i < r.sequences.size() ? r.sequences[i].text : std::string(); };
    std::string h = "<p class=note><del>only in " + esc(nameA) + "</del> · <ins>only in " + esc(nameB)
        + "</ins> (word by word)</p><table class=outputs><tr><th>" + esc(nameA) + "</th><th>" + esc(nameB)
        + "</th></tr>";
    const size_t n
        = std::max({ a.sequences.size(), b.sequences.size(), a.settings.prompts.size(), b.settings.prompts.size() });
    for (size_t i = 0; i < n; ++i) {
        std::string left = "<span class=prompt>" + esc(prompt(a, i)) + "</span>";
        std::string right = "<span class=prompt>" + esc(prompt(b, i)) + "</span>";
        for (const auto& piece : Comparison::diffWords(text(a, i), text(b, i))) {
            if (piece.kind != Kind::Added)
                left += piece.kind == Kind::Same ? esc(piece.text) : "<del>" + esc(piece.text) + "</del>";
            if (piece.kind != Kind::Removed)
                right += piece.kind == Kind::Same ? esc(piece.text) : "<ins>" + esc(piece.text) + "</ins>";
        }
        h += "<tr><td class=out>" + left + "</td><td class=out>" + right + "</td></tr>";
    }
    return h + "</table>";
}

std::string sweepTable(const engine::SweepResult& sweep)
{
    std::vector<std::vector<std::string>> rows { { "strategy", "threads", "median decode s", "min–max s", "speedup",
        "efficiency", "tok/s" } };
    for (const auto& st : sweep.strategies)
        for (const auto& p : st.decodeScaling.points)
            rows.push_back({ esc(st.strategy), std::to_string(p.threads), num(p.medianSeconds, 4),
                num(p.minSeconds, 4) + "–" + num(p.maxSeconds, 4), num(st.scaledWork ? p.scaledSpeedup : p.speedup, 2),
                num(st.scaledWork ? p.scaledEfficiency : p.efficiency, 2),
                num(p.medianSeconds > 0 ? st.generatedTokens * (st.scaledWork ? p.threads : 1) / p.medianSeconds : NAN,
                    1) });
    return table(rows);
}

// A sweep's workload with the strategies it measured (they are not part of the workload's settings).
nlohmann::json sweepSettings(const engine::SweepResult& sweep)
{
    nlohmann::json j = sweep.workload.is_object() ? sweep.workload : nlohmann::json::object();
    j.erase("cancelled");
    nlohmann::json names = nlohmann::json::array();
    for (const auto& st : sweep.strategies)
        names.push_back(st.strategy + (st.scaledWork ? " (scaled)" : ""));
    j["strategies"] = names;
    return j;
}

std::string runLine(const RunRecord& r)
{
    return std::string(engine::strategyName(r.strategy)) + ", " + std::to_string(r.threads) + " thread"
        + (r.threads == 1 ? "" : "s") + ", " + num(r.metrics.wallMs, 1) + " ms"
        + (r.startedAt.empty() ? "" : ", started " + r.startedAt) + (r.cancelled ? " (stopped)" : "");
}

std::string machineSection(const Session& s, const RunRecord* run, const SweepRecord* sweep)
{
    std::vector<std::vector<std::string>> rows { { "", "" } };
    if (run && run->report) {
        const auto& m = run->report->machine;
        rows.push_back({ "CPU", esc(m.cpu) });
        rows.push_back({ "logical cores", std::to_string(m.cores) });
        rows.push_back(
            { "read bandwidth, GB/s (1 thread / all)", num(m.bandwidthGBps1, 1) + " / " + num(m.bandwidthGBpsAll, 1) });
        rows.push_back(
            { "FMA peak, GFLOP/s (1 thread / all)", num(m.peakGflops1, 1) + " / " + num(m.peakGflopsAll, 1) });
        rows.push_back({ "FMA kernel", esc(m.fmaKernel) });
    } else if (const nlohmann::json& m = s.machine.is_object() ? s.machine
                   : sweep                                     ? sweep->result.machine
                                                               : s.machine;
               m.is_object()) {
        for (auto it = m.begin(); it != m.end(); ++it)
            rows.push_back({ esc(machineLabel(it.key())), esc(valueText(it.value())) });
    }
    rows.push_back({ "model", esc(s.model.name.empty() ? s.model.path : s.model.name + " (" + s.model.path + ")") });
    if (s.model.size)
        rows.push_back({ "model file", std::to_string(s.model.size) + " bytes, " + esc(s.model.hash) });
    rows.erase(rows.begin());
    return table(rows, false);
}

std::string analysisSection(const RunRecord& r)
{
    if (!r.report)
        return r.trace.empty() ? "<p>The run was not traced: no analysis.</p>"
                               : "<p>No analysis was saved with this run (the CLI's generate does not analyse; "
                                 "analyze --session-out does).</p>";
    std::string h = "<ul>";
    for (const std::string& line : engine::readRunReport(*r.report))
        h += "<li>" + esc(line) + "</li>";
    h += "</ul>";
    std::vector<std::vector<std::string>> rows { { "phase", "wall ms", "busy %", "imbalance ms", "overhead ms",
        "serial ms", "untraced ms", "preempted ms", "serial fraction" } };
    const auto& a = r.report->analysis;
    for (const auto& [name, t] :
        { std::pair("prefill", &a.prefill), std::pair("decode", &a.decode), std::pair("total", &a.total) }) {
        const double lane = double(std::max<int64_t>(1, t->laneNs));
        rows.push_back({ name, num(double(t->wallNs) / 1e6, 1), num(100.0 * double(t->busyNs) / lane, 0),
            num(double(t->idle.imbalance) / 1e6, 1), num(double(t->idle.overhead) / 1e6, 1),
            num(double(t->idle.serial) / 1e6, 1), num(double(t->idle.untraced) / 1e6, 1),
            num(double(t->idle.disturbed) / 1e6, 1), num(t->serialFraction(), 3) });
    }
    return h + table(rows);
}

std::string css()
{
    return "body{font:14px/1.4 'DejaVu Sans',sans-serif;color:#222;max-width:1000px;margin:16px auto;padding:0 12px;"
           "-webkit-print-color-adjust:exact;print-color-adjust:exact}"
           "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;border-bottom:1px solid #ccc;margin:20px 0 8px}"
           "h3{font-size:14px;margin:10px 0 4px}p{margin:6px 0}"
           "table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;"
           "vertical-align:top;overflow-wrap:break-word}th{background:#f2f2f2}mark{background:#ffec96;font-weight:bold}"
           ".out{white-space:pre-wrap;border:1px solid #ddd;padding:6px;margin:4px 0;font-family:'DejaVu Sans Mono',"
           "monospace;font-size:12px}.prompt{color:#888}.note{color:#666;font-size:12px;overflow-wrap:anywhere}"
           "table.outputs{table-layout:fixed;width:100%}table.outputs td{overflow-wrap:anywhere}"
           "del{background:#fdd;color:#a00}ins{background:#dfd;color:#060;text-decoration:none}"
           ".caption{margin:10px 0 2px}svg{max-width:100%;height:auto;display:block}svg.timeline{width:100%}"
           "@media print{body{max-width:none;margin:0}h2,h3,.caption{break-after:avoid}svg,tr,.out{break-inside:avoid}"
           ".out{font-size:10px}}";
}

} // namespace

std::string HtmlReport::timelineSvg(const RunRecord& run, int64_t endNs, int width)
{
    int lanes = std::max(1, run.threads);
    for (const auto& e : run.trace)
        if (!engine::isMarker(e.op) && e.worker >= 0 && e.worker < 256)
            lanes = std::max(lanes, int(e.worker) + 1);
    const int label = 70, laneH = 22, gap = 4, top = 4;
    const int columns = std::max(1, width - label - 10);
    endNs = std::max<int64_t>(endNs, 1);
    const double nsPerColumn = double(endNs) / columns;
    // Per lane and pixel column: busy time, and the time of each op (the colour is the op that took the most).
    std::vector<double> busy(size_t(lanes) * size_t(columns), 0);
    std::vector<std::array<float, size_t(engine::Op::Count_)>> byOp(size_t(lanes) * size_t(columns));
    for (auto& a : byOp)
        a.fill(0);
    for (const auto& e : run.trace) {
        if (engine::isMarker(e.op) || e.worker < 0 || e.worker >= lanes || e.endNs <= e.beginNs)
            continue;
        const int64_t b = std::max<int64_t>(0, e.beginNs), f = std::min(endNs, e.endNs);
        if (f <= b)
            continue;
        const int c0 = std::clamp(int(double(b) / nsPerColumn), 0, columns - 1);
        const int c1 = std::clamp(int(double(f) / nsPerColumn), 0, columns - 1);
        for (int c = c0; c <= c1; ++c) {
            const double lo = std::max(double(b), c * nsPerColumn), hi = std::min(double(f), (c + 1) * nsPerColumn);
            if (hi <= lo)
                continue;
            const size_t i = size_t(e.worker) * size_t(columns) + size_t(c);
            busy[i] += hi - lo;
            byOp[i][size_t(e.op)] += float(hi - lo);
        }
    }
    std::string svg; // the figure's elements; the <svg> element, sized to them, is put around them at the end
    std::map<int, int> opsUsed;
    for (int lane = 0; lane < lanes; ++lane) {
        const int y = top + lane * (laneH + gap);
        svg += "<text x=\"2\" y=\"" + std::to_string(y + 15) + "\">worker " + std::to_string(lane) + "</text>";
        svg += "<rect x=\"" + std::to_string(label) + "\" y=\"" + std::to_string(y) + "\" width=\""
            + std::to_string(columns) + "\" height=\"" + std::to_string(laneH) + "\" fill=\"#f4f4f4\"/>";
        for (int c = 0; c < columns; ++c) {
            const size_t i = size_t(lane) * size_t(columns) + size_t(c);
            if (busy[i] <= 0)
                continue;
            const auto& ops = byOp[i];
            const auto op = engine::Op(std::max_element(ops.begin(), ops.end()) - ops.begin());
            ++opsUsed[int(op)];
            const int h = std::max(1, int(std::lround(laneH * std::min(1.0, busy[i] / nsPerColumn))));
            svg += "<rect x=\"" + std::to_string(label + c) + "\" y=\"" + std::to_string(y + laneH - h)
                + "\" width=\"1\" height=\"" + std::to_string(h) + "\" fill=\"" + opColour(op) + "\"/>";
        }
    }
    const int axisY = top + lanes * (laneH + gap);
    for (int t = 0; t <= 5; ++t) {
        const int x = label + columns * t / 5;
        svg += "<line x1=\"" + std::to_string(x) + "\" y1=\"" + std::to_string(axisY) + "\" x2=\"" + std::to_string(x)
            + "\" y2=\"" + std::to_string(axisY + 4) + "\" stroke=\"#444\"/>";
        svg += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(axisY + 16) + "\" text-anchor=\""
            + (t == 0        ? "start"
                    : t == 5 ? "end"
                             : "middle")
            + "\">" + num(double(endNs) * t / 5 / 1e6, 1) + " ms</text>";
    }
    // The legend: the ops drawn, in rows that wrap at the figure's width; the height follows.
    int x = label, legendY = axisY + 22;
    for (const auto& [op, count] : opsUsed) {
        (void)count;
        const std::string name = engine::opName(engine::Op(op));
        const int w = 20 + int(name.size()) * 7;
        if (x > label && x + w > width) {
            x = label;
            legendY += 16;
        }
        svg += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(legendY) + "\" width=\"10\" "
            + "height=\"10\" fill=\"" + opColour(engine::Op(op)) + "\"/><text x=\"" + std::to_string(x + 13) + "\" y=\""
            + std::to_string(legendY + 9) + "\">" + esc(name) + "</text>";
        x += w;
    }
    const int height = legendY + 16;
    return "<svg class=\"timeline\" width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(height)
        + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height)
        + "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">" + svg + "</svg>";
}

std::string HtmlReport::speedupSvg(const engine::SweepResult& sweep, int width, int height)
{
    // The legend takes what its longest name needs (about 6.5 px a character at 11 px), the plot the rest.
    size_t longest = 16; // "Amdahl s = 0.123"
    for (const auto& st : sweep.strategies)
        longest = std::max(longest, st.strategy.size() + (st.scaledWork ? 9 : 0));
    const int left = 50, right = std::min(width / 2, 44 + int(double(longest) * 6.5)), top = 12, bottom = 36;
    const int pw = width - left - right, ph = height - top - bottom;
    int maxP = 1;
    double maxS = 1;
    for (const auto& s : sweep.strategies)
        for (const auto& p : s.decodeScaling.points) {
            maxP = std::max(maxP, p.threads);
            const double sp = s.scaledWork ? p.scaledSpeedup : p.speedup;
            if (std::isfinite(sp))
                maxS = std::max(maxS, sp);
        }
    // Ticks at a round step, at most six, so the axis reads at a glance.
    maxS = std::max(maxS, double(maxP)) * 1.02;
    double step = 1000;
    for (const double s : { 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0 })
        if (maxS / s <= 6) {
            step = s;
            break;
        }
    maxS = std::ceil(maxS / step) * step;
    auto X = [&](double p) { return left + pw * (p - 1) / std::max(1, maxP - 1); };
    auto Y = [&](double s) { return top + ph - ph * s / maxS; };
    auto pt = [&](double p, double s) { return num(X(p), 1) + "," + num(Y(s), 1); };
    std::string svg = "<svg class=\"speedup\" width=\"" + std::to_string(width) + "\" height=\""
        + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height)
        + "\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">";
    svg += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(top) + "\" width=\"" + std::to_string(pw)
        + "\" height=\"" + std::to_string(ph) + "\" fill=\"none\" stroke=\"#999\"/>";
    for (int p = 1; p <= maxP; p = p < 8 ? p + 1 : p * 2)
        svg += "<text x=\"" + num(X(p), 1) + "\" y=\"" + std::to_string(top + ph + 14) + "\" text-anchor=\"middle\">"
            + std::to_string(p) + "</text>";
    for (double v = 0; v <= maxS + step / 2; v += step)
        svg += "<text x=\"" + std::to_string(left - 4) + "\" y=\"" + num(Y(v) + 4, 1) + "\" text-anchor=\"end\">"
            + num(v,
                step < 0.5     ? 2
                    : step < 1 ? 1
                               : 0)
            + "</text><line x1=\"" + std::to_string(left) + "\" x2=\"" + std::to_string(left + pw) + "\" y1=\""
            + num(Y(v), 1) + "\" y2=\"" + num(Y(v), 1) + "\" stroke=\"#eee\"/>";
    svg += "<text x=\"" + std::to_string(left + pw / 2) + "\" y=\"" + std::to_string(height - 4)
        + "\" text-anchor=\"middle\">threads</text>";
    svg += "<text x=\"12\" y=\"" + std::to_string(top + ph / 2) + "\" transform=\"rotate(-90 12 "
        + std::to_string(top + ph / 2) + ")\" text-anchor=\"middle\">decode speedup</text>";
    svg += "<polyline fill=\"none\" stroke=\"#bbb\" stroke-dasharray=\"4 3\" points=\"" + pt(1, 1) + " "
        + pt(maxP, maxP) + "\"/>";
    int legendY = top + 10;
    auto legend = [&](const std::string& colour, const std::string& text, bool dashed) {
        svg += "<line x1=\"" + std::to_string(left + pw + 10) + "\" y1=\"" + std::to_string(legendY - 4) + "\" x2=\""
            + std::to_string(left + pw + 30) + "\" y2=\"" + std::to_string(legendY - 4) + "\" stroke=\"" + colour
            + "\" stroke-width=\"2\"" + (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/><text x=\""
            + std::to_string(left + pw + 34) + "\" y=\"" + std::to_string(legendY) + "\">" + esc(text) + "</text>";
        legendY += 16;
    };
    legend("#bbb", "ideal", true);
    for (size_t i = 0; i < sweep.strategies.size(); ++i) {
        const auto& s = sweep.strategies[i];
        const std::string colour = kStrategyColours[i % std::size(kStrategyColours)];
        std::string points;
        for (const auto& p : s.decodeScaling.points) {
            const double sp = s.scaledWork ? p.scaledSpeedup : p.speedup;
            if (!std::isfinite(sp))
                continue;
            points += pt(p.threads, sp) + " ";
            svg += "<circle cx=\"" + num(X(p.threads), 1) + "\" cy=\"" + num(Y(sp), 1) + "\" r=\"3.5\" fill=\"" + colour
                + "\"/>";
        }
        svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\" points=\"" + points + "\"/>";
        legend(colour, s.strategy + (s.scaledWork ? " (scaled)" : ""), false);
        const double f = s.decodeScaling.serialFraction;
        if (!s.scaledWork && s.decodeScaling.valid && std::isfinite(f)) {
            std::string fit;
            for (int p = 1; p <= maxP; ++p)
                fit += pt(p, 1.0 / (f + (1 - f) / p)) + " ";
            svg += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-dasharray=\"5 3\" points=\"" + fit
                + "\"/>";
            legend(colour, "Amdahl s = " + num(f, 3), true);
        }
    }
    return svg + "</svg>";
}

std::string HtmlReport::render(const Session& s, const Options& o)
{
    auto pick = [](int index, size_t count) {
        return index == Options::kNone || count == 0 ? -1 : index < 0 ? int(count) - 1 : index;
    };
    const int runIndex = pick(o.run, s.runs.size());
    const int sweepIndex = pick(o.sweep, s.sweeps.size());
    if (runIndex >= int(s.runs.size()) || o.compareWith >= int(s.runs.size()) || sweepIndex >= int(s.sweeps.size())
        || o.compareSweepWith >= int(s.sweeps.size()) || (o.compareWith >= 0 && runIndex < 0)
        || (o.compareSweepWith >= 0 && sweepIndex < 0))
        throw std::runtime_error("the session has no such run or sweep");
    const RunRecord* run = runIndex >= 0 ? &s.runs[size_t(runIndex)] : nullptr;
    const RunRecord* other = o.compareWith >= 0 ? &s.runs[size_t(o.compareWith)] : nullptr;
    const SweepRecord* sweep = sweepIndex >= 0 ? &s.sweeps[size_t(sweepIndex)] : nullptr;
    const SweepRecord* otherSweep = o.compareSweepWith >= 0 ? &s.sweeps[size_t(o.compareSweepWith)] : nullptr;

    const std::string title = other ? "comparison of two runs"
        : otherSweep                ? "comparison of two sweeps"
        : run && sweep              ? "run and sweep report"
        : run                       ? "run report"
                                    : "sweep report";
    std::string h = "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>LLM Thread Playground — " + title
        + "</title><style>" + css() + "</style></head><body>";
    h += "<h1>LLM Thread Playground — " + title + "</h1>";
    const std::string nameA = other ? "A · run " + std::to_string(runIndex + 1) : "";
    const std::string nameB = other ? "B · run " + std::to_string(o.compareWith + 1) : "";
    if (other)
        h += "<p><b>" + esc(nameA) + "</b>: " + esc(runLine(*run)) + "<br><b>" + esc(nameB)
            + "</b>: " + esc(runLine(*other)) + "</p>";
    else if (run)
        h += "<p>Run " + std::to_string(runIndex + 1) + ": " + esc(runLine(*run)) + "</p>";
    h += "<p class=note>Made " + esc(SessionFile::nowUtc()) + " from a session of " + std::to_string(s.runs.size())
        + " run(s) and " + std::to_string(s.sweeps.size()) + " sweep(s).</p>";
    h += "<h2>Machine and model</h2>" + machineSection(s, run, sweep);
    if (run && other) {
        h += "<h2>Settings</h2>"
            + settingsComparison(engine::toJson(run->settings), engine::toJson(other->settings), nameA, nameB, false);
        h += "<h2>Outputs</h2>" + outputsComparison(*run, *other, nameA, nameB);
        h += "<h2>Figures</h2>" + figuresTable(*run, other, nameA, nameB);
        h += "<h2>Worker timelines</h2>";
        const int64_t end = std::max(run->metrics.wallNs, other->metrics.wallNs);
        for (const auto& [r, name] : { std::pair(run, &nameA), std::pair(other, &nameB) })
            h += "<p class=caption><b>" + esc(*name) + "</b> — " + esc(runLine(*r)) + "</p>"
                + (r->trace.empty() ? "<p>Not traced: no timeline.</p>" : timelineSvg(*r, end));
        h += "<p class=note>One lane per worker thread, both on one time scale; bar height: the share of the column's "
             "time the worker was busy; colour: the op that took most of it.</p>";
        h += "<h2>Why: the analysis</h2><h3>" + esc(nameA) + "</h3>" + analysisSection(*run) + "<h3>" + esc(nameB)
            + "</h3>" + analysisSection(*other);
    } else if (run) {
        h += "<h2>Settings</h2>" + settingsTable(engine::toJson(run->settings), false);
        h += "<h2>Outputs</h2>" + outputs(*run);
        h += "<h2>Figures</h2>" + figuresTable(*run, nullptr, "", "");
        h += "<h2>Worker timeline</h2>";
        h += run->trace.empty() ? "<p>Not traced: no timeline.</p>" : timelineSvg(*run, run->metrics.wallNs);
        h += "<p class=note>One lane per worker thread; bar height: the share of the column's time the worker was "
             "busy; colour: the op that took most of it.</p>";
        h += "<h2>Why: the analysis</h2>" + analysisSection(*run);
    }
    if (sweep && otherSweep) {
        const std::string sweepA = "sweep " + std::to_string(sweepIndex + 1);
        const std::string sweepB = "sweep " + std::to_string(o.compareSweepWith + 1);
        const engine::SweepResult both = Comparison::mergedSweeps(sweep->result, otherSweep->result, sweepA, sweepB);
        h += "<h2>Workloads</h2>"
            + settingsComparison(sweepSettings(sweep->result), sweepSettings(otherSweep->result), sweepA, sweepB, true);
        h += "<h2>Sweeps: speedup</h2>" + speedupSvg(both) + sweepTable(both);
    } else if (sweep) {
        h += "<h2>Sweep " + std::to_string(sweepIndex + 1) + ": speedup</h2>" + speedupSvg(sweep->result)
            + sweepTable(sweep->result);
        h += "<h3>Workload</h3>" + settingsTable(sweepSettings(sweep->result), true);
    }
    if (!run && !sweep)
        h += "<p>The session holds no run and no sweep.</p>";
    return h + "</body></html>\n";
}

void HtmlReport::write(const std::string& path, const Session& session, const Options& options)
{
    const std::string html = render(session, options);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << html;
    out.close();
    if (!out)
        throw std::runtime_error("cannot write " + path);
}

} // namespace session
