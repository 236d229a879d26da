// Native harness for sha256d_miner: one job, reader always ready, every hit kept.
// usage: native JOB OUT   JOB = 32 midstate words (port word order), count, 3 tail
// words, nonce_start, nonce_end, 8 target words; OUT = (midstate index, nonce) per hit.
#include "harness.h"

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s JOB OUT\n", argv[0]); return 2; }
    std::vector<uint32_t> job = read_words(argv[1]), hits;
    Clocked sim;
    Vtop* t = sim.top;
    sim.reset();
    put(t->job_midstates, &job[0]);
    t->job_midstate_count = job[32];
    put(t->job_tail, &job[33]);
    t->job_nonce_start = job[36];
    t->job_nonce_end = job[37];
    put(t->job_target, &job[38]);
    t->job_id = 1;
    t->res_ready = 1;
    t->job_valid = 1;
    double start = now_s();
    uint64_t c0 = sim.cycles, items = uint64_t(job[37] - job[36] + 1) * job[32];
    bool done = false;
    while (!done || t->res_valid) {
        sim.settle();
        if (t->res_valid) { hits.push_back(t->res_midstate_idx); hits.push_back(t->res_nonce); }
        done = done || t->done;
        sim.edge();
        t->job_valid = 0;
        if (sim.cycles - c0 > 200 * items + 1000) { std::fprintf(stderr, "hung\n"); return 1; }
    }
    double loop = now_s() - start;
    write_words(argv[2], hits);
    report(sim.cycles - c0, loop, "");
    return 0;
}
