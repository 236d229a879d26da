// Shared helpers of the native Verilator harnesses of `make bench` (asicdv.tools.bench).
// A harness links the very objects of the cocotb build (Vtop__ALL.a and the
// verilated runtime, same flags); only main() differs: no VPI, no Python.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "Vtop.h"
#include "verilated.h"

// Any Verilator port type (CData..QData, VlWide<N>) from/to little-endian 32-bit words.
template <typename T> static void put(T& port, const uint32_t* w) {
    uint64_t v = w[0];
    if (sizeof(T) > 4) v |= uint64_t(w[1]) << 32;
    port = T(v);
}
template <std::size_t N> static void put(VlWide<N>& port, const uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T> static void get(const T& port, uint32_t* w) {
    uint64_t v = port;
    w[0] = uint32_t(v);
    if (sizeof(T) > 4) w[1] = uint32_t(v >> 32);
}
template <std::size_t N> static void get(const VlWide<N>& port, uint32_t* w) {
    for (std::size_t i = 0; i < N; ++i) w[i] = port[i];
}
template <typename T> constexpr std::size_t words(const T&) { return (sizeof(T) + 3) / 4; }

static std::vector<uint32_t> read_words(const char* path) {
    FILE* f = std::fopen(path, "rb");
    if (!f) { std::perror(path); std::exit(2); }
    std::vector<uint32_t> out;
    uint32_t buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 4, 4096, f)) > 0) out.insert(out.end(), buf, buf + n);
    std::fclose(f);
    return out;
}

static void write_words(const char* path, const std::vector<uint32_t>& data) {
    FILE* f = std::fopen(path, "wb");
    if (!f) { std::perror(path); std::exit(2); }
    std::fwrite(data.data(), 4, data.size(), f);
    std::fclose(f);
}

// One clock: the falling half settles the inputs written since the last edge
// (so handshakes can be sampled), the rising half is the edge.
struct Clocked {
    VerilatedContext ctx;
    Vtop* top;
    uint64_t cycles = 0;
    Clocked() {
#ifdef ASICDV_THREADS  // the optimized builds (asicdv.tools.bench_native): a pool sized to the model
        ctx.threads(ASICDV_THREADS);
#endif
        top = new Vtop{&ctx};
        top->clk = 0;
        top->rst = 0;
        top->eval();
    }
    ~Clocked() { top->final(); delete top; }
    void settle() { top->clk = 0; top->eval(); }
    void edge() { top->clk = 1; top->eval(); ++cycles; }
    void reset(int n = 3) {
        top->rst = 1;
        for (int i = 0; i < n; ++i) { settle(); edge(); }
        top->rst = 0;
        settle();
    }
};

static double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// The figure the bench parses: one line of JSON on stdout.
static void report(uint64_t cycles, double seconds, const char* extra) {
    std::printf("{\"cycles\": %llu, \"loop_s\": %.6f%s%s}\n", (unsigned long long)cycles, seconds,
                extra[0] ? ", " : "", extra);
}
