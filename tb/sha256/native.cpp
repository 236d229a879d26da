// Native harness for sha256_core: blocks back to back, every digest kept.
// usage: native IN OUT   IN = records of 8 chain words + 16 block words (word 0 = least
// significant 32 bits of the port), OUT = 8 words per digest, in order.
#include "harness.h"

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s IN OUT\n", argv[0]); return 2; }
    std::vector<uint32_t> in = read_words(argv[1]), out;
    Clocked sim;
    Vtop* t = sim.top;
    const std::size_t cw = words(t->in_chain), bw = words(t->in_block), dw = words(t->out_digest);
    const std::size_t rec = cw + bw, n = in.size() / rec;
    out.resize(n * dw);
    sim.reset();
    double start = now_s();
    std::size_t sent = 0, got = 0;
    t->out_ready = 1;
    uint64_t c0 = sim.cycles;
    while (got < n) {
        t->in_valid = sent < n;
        if (sent < n) { put(t->in_chain, &in[sent * rec]); put(t->in_block, &in[sent * rec + cw]); }
        sim.settle();
        bool take_in = t->in_valid && t->in_ready;
        if (t->out_valid && t->out_ready) get(t->out_digest, &out[dw * got++]);
        sim.edge();
        sent += take_in;
        if (sim.cycles - c0 > 200ull * (n + 2)) { std::fprintf(stderr, "hung\n"); return 1; }
    }
    double loop = now_s() - start;
    write_words(argv[2], out);
    report(sim.cycles - c0, loop, "");
    return 0;
}
