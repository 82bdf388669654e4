// Hand-built traces and machine figures the run-analysis tests (analysis, roofline, prediction) share.
#pragma once

#include "engine/measure/roofline.h"
#include "engine/parallel/trace.h"

#include <cstdint>

namespace handtrace {

// One event on `worker` over [begin, end). Chunks cover one row; serial sections none; region spans get block count
// 0 (unknown, so the prediction bounds such a region by its longest chunk).
inline engine::TraceEvent event(int worker, int64_t begin, int64_t end, engine::Op op)
{
    engine::TraceEvent e;
    e.worker = int16_t(worker);
    e.beginNs = begin;
    e.endNs = end;
    e.op = op;
    e.last = op == engine::Op::Serial || op == engine::Op::Region ? 0 : 1;
    return e;
}

// 4 cores; 10 GB/s on one, 25 on all; 50 and 200 GFLOP/s; fork/join 100 ns on one thread, 2000 ns on all four.
inline engine::MachinePeaks peaks()
{
    engine::MachinePeaks p;
    p.cpu = "hand";
    p.cores = 4;
    p.bandwidthGBps1 = 10;
    p.bandwidthGBpsAll = 25;
    p.peakGflops1 = 50;
    p.peakGflopsAll = 200;
    p.forkJoinNs1 = 100;
    p.forkJoinNsAll = 2000;
    return p;
}

} // namespace handtrace
