// Native harness for kpu_top: operand beats back to back, result reader always ready.
// usage: native BEATS OUT  BEATS = per beat the words of op_a, op_b, op_last, op_bias,
// op_mult, op_shift, op_in_zp, op_out_zp, op_act_min, op_act_max, op_raw, op_pool (each
// port rounded up to whole words); OUT = the res_data words of every result beat, in order.
#include "harness.h"

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s BEATS OUT\n", argv[0]); return 2; }
    std::vector<uint32_t> in = read_words(argv[1]), out;
    Clocked sim;
    Vtop* t = sim.top;
    const std::size_t rec = words(t->op_a) + words(t->op_b) + 1 + words(t->op_bias) + words(t->op_mult) +
                            words(t->op_shift) + 6;
    const std::size_t n = in.size() / rec, dw = words(t->res_data);
    sim.reset();
    uint32_t row[64];
    double start = now_s();
    uint64_t c0 = sim.cycles, idle = 0;
    std::size_t sent = 0;
    t->res_ready = 1;
    while (idle < 16) {  // all beats in and the drain quiet for a while
        t->op_valid = sent < n;
        if (sent < n) {
            const uint32_t* p = &in[sent * rec];
            put(t->op_a, p); p += words(t->op_a);
            put(t->op_b, p); p += words(t->op_b);
            t->op_last = *p++;
            put(t->op_bias, p); p += words(t->op_bias);
            put(t->op_mult, p); p += words(t->op_mult);
            put(t->op_shift, p); p += words(t->op_shift);
            t->op_in_zp = *p++; t->op_out_zp = *p++; t->op_act_min = *p++; t->op_act_max = *p++;
            t->op_raw = *p++; t->op_pool = *p++;
        }
        sim.settle();
        bool take = t->op_valid && t->op_ready;
        if (t->res_valid) { get(t->res_data, row); out.insert(out.end(), row, row + dw); idle = 0; }
        else if (sent >= n) ++idle;
        sim.edge();
        sent += take;
    }
    double loop = now_s() - start;
    write_words(argv[2], out);
    report(sim.cycles - c0 - 16, loop, "");
    return 0;
}
