// asicdv's Verilator main loop: cocotb 2.1's share/lib/verilator/verilator.cpp (Copyright cocotb
// contributors, BSD-3-Clause) plus a native engine that Python drives through ctypes
// (asicdv/testbench/native.py), so that what happens every cycle costs no VPI callback and no Python:
//   - a free-running clock toggled by this loop (cocotb's GPI clock costs a timed VPI callback
//     and a vpi_put_value per half period);
//   - valid/ready streams (and valid-only ones, without a ready: every edge with valid high is a
//     transfer): a player that drives queued beats (a source), a recorder of transfers (a sink or
//     monitor; Python drains it in batches) and the valid/ready protocol rules checked at every
//     rising edge;
//   - seeded pauses (back-pressure tests): a source idling before a beat, a sink holding ready low
//     once valid comes, drawn from the generator Python's PauseSchedule (asicdv.testbench.stream)
//     also implements, with the same rules as the Python endpoints, so a seed gives the same
//     cycles either way.
// Signals are bound by their Verilator storage (VerilatedScope::varFind), the same memory VPI
// reads and writes; value-change callbacks still see every change, so Python's triggers on these
// signals behave as with cocotb's loop.
//
// Edge order, as with cocotb's clock: streams sample valid/ready/payload from the settled values
// just before the rising edge; players drive their next beat at the falling edge.

// The main loop runs every clock edge: built -O2 whatever the model's OPT_FAST is.
#pragma GCC optimize("O2")

#include <libgen.h>  // basename
#include <stdio.h>   // stderr, fprintf
#include <stdlib.h>  // on_exit
#include <unistd.h>  // _exit

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>  // std::unique_ptr
#include <string>  // std::string
#include <vector>

#include "Vtop.h"
#include "verilated.h"
#include "verilated_syms.h"
#include "verilated_vpi.h"

#ifndef VM_TRACE_FST
// emulate new verilator behavior for legacy versions
#define VM_TRACE_FST 0
#endif

#if VM_TRACE
#if VM_TRACE_FST
#include <verilated_fst_c.h>
using verilated_trace_t = VerilatedFstC;
#elif VM_TRACE_SAIF
#include <verilated_saif_c.h>
using verilated_trace_t = VerilatedSaifC;
#else
// VM_TRACE_VCD
#include <verilated_vcd_c.h>
using verilated_trace_t = VerilatedVcdC;
#endif
static verilated_trace_t *tfp;
#endif

// The top's ports registered for VPI (a build's generated asicdv_ports.cpp,
// asicdv.tools.verilator_ports); absent when the model makes them public itself.
void asicdv_register_ports(Vtop *top) __attribute__((weak));

static vluint64_t main_time = 0;  // Current simulation time
#if VM_COVERAGE
static bool coverage_per_instance = false;
#endif

double sc_time_stamp() {  // Called by $time in Verilog
    return main_time;     // converts to double, to match
                          // what SystemC does
}

extern "C" {
void vlog_startup_routines_bootstrap(void);
}

// ---------------------------------------------------------------------------------------------
// Native engine

namespace {

const vluint64_t NEVER = static_cast<vluint64_t>(~0ULL);

// The variable "scope.name" names, with storage of its own, or null. As vpi_handle_by_name: a
// port of the top module lives in scope TOP (the module's own scope may hold a copy).
const VerilatedVar *find_var(const char *fullname) {
    const std::string name = fullname;
    const auto dot = name.rfind('.');
    if (dot == std::string::npos) return nullptr;
    const std::string scope = name.substr(0, dot), var = name.substr(dot + 1);
    const VerilatedVar *varp = nullptr;
    if (scope.find('.') == std::string::npos) {
        if (const VerilatedScope *top = Verilated::threadContextp()->scopeFind("TOP")) varp = top->varFind(var.c_str());
    }
    if (!varp) {
        const VerilatedScope *scopep = Verilated::threadContextp()->scopeFind(scope.c_str());
        if (scopep) varp = scopep->varFind(var.c_str());
    }
    return varp && varp->datap() ? varp : nullptr;
}

struct Signal {
    uint8_t *data = nullptr;
    uint32_t bytes = 0;  // storage: 1, 2, 4, 8 or a multiple of 4 (little-endian words)
    uint32_t bits = 0;

    // "scope.name" as cocotb names a handle ("sha256_core.clk").
    bool bind(const char *fullname) {
        const VerilatedVar *varp = find_var(fullname);
        if (!varp) return false;
        data = static_cast<uint8_t *>(varp->datap());
        bytes = varp->entSize();
        bits = varp->entBits();
        return true;
    }
    uint32_t bit() const { return data[0] & 1; }
    void set_bit(uint32_t value) { data[0] = static_cast<uint8_t>(value & 1); }
};

struct Clock {
    Signal signal;
    vluint64_t half = 0;  // half period in simulation steps
    vluint64_t next = NEVER;
    bool high = false;  // the level driven last (the signal may start at a random value)
} clock_;

// splitmix64, as asicdv.testbench.stream.PauseSchedule: idle cycles before each beat, 0 unless the
// draw's high word is below `threshold` (probability * 2^32), else 1..longest from its low word.
struct PauseSchedule {
    uint64_t state = 0;
    uint64_t threshold = 0;  // up to 2^32: a probability of 1
    uint32_t longest = 1;
    uint64_t drawn = 0;

    uint32_t next() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        ++drawn;
        if ((z >> 32) >= threshold) return 0;
        return 1 + static_cast<uint32_t>(((z & 0xFFFFFFFFULL) * longest) >> 32);
    }
};

// A pausing sink's ready, as the Python StreamSink: a pause drawn when its task starts (Python
// calls asicdv_stream_sink_start just after the edge the task awaits) and after each transfer;
// 0 keeps ready high, n drops it until valid is seen at an edge and n - 1 edges more, so valid
// waits exactly n edges. Until the start (`restart`) ready keeps its value and nothing is taken.
enum class SinkPhase { restart, ready, wait_valid, hold };

struct Stream {
    Signal valid, ready, reset;
    bool has_ready = true;  // false: valid-only (ready is taken as always high)
    bool has_reset = false;
    uint32_t reset_active = 1;
    std::vector<Signal> fields;
    uint32_t beat_bytes = 0;  // the fields' storage, concatenated in order

    // player (a source): beats queued by Python, driven one per transfer; one array per field
    bool playing = false;
    std::vector<std::vector<uint8_t>> queue;
    size_t sent = 0, queued = 0;
    size_t driven = 0;     // the beat on the wires (index into queue) while `driving`
    bool driving = false;

    // pauses (either role): a pausing source waits `wait` edges with valid low before offering
    // beat `sent`; a beat queued while idle waits for the next edge first (as the Python source,
    // which wakes and awaits an edge), where its pause is drawn
    bool pausing_source = false, pausing_sink = false;
    PauseSchedule pauses;
    bool waking = false;
    uint32_t wait = 0;
    SinkPhase sink = SinkPhase::ready;
    uint32_t hold = 0;

    // recorder (a sink or monitor): transfers waiting for Python to drain them
    bool recording = false;
    std::vector<uint8_t> recorded;
    size_t recorded_beats = 0;

    // protocol checker
    bool checking = false;
    bool stalled = false;  // valid high, ready low at the last rising edge
    std::vector<uint8_t> held;
    uint64_t stalls = 0;
    std::string violation;
    std::vector<uint8_t> seen;  // the payload at the violation's edge (held: the one that waited)

    void sample(std::vector<uint8_t> &out) const {
        for (const Signal &f : fields) out.insert(out.end(), f.data, f.data + f.bytes);
    }
    bool payload_is(const std::vector<uint8_t> &beat) const {  // no copy: runs every stalled edge
        const uint8_t *p = beat.data();
        for (const Signal &f : fields) {
            if (std::memcmp(f.data, p, f.bytes) != 0) return false;
            p += f.bytes;
        }
        return true;
    }
    bool in_reset() const { return has_reset && reset.bit() == reset_active; }

    void rising_edge() {
        // Valid low and nothing counting edges: this edge changes nothing (most edges of most streams).
        if (!valid.bit() && !stalled && !waking && wait == 0 && !(pausing_sink && sink == SinkPhase::hold)) return;
        const bool in_rst = in_reset();
        const bool v = valid.bit(), r = has_ready ? ready.bit() : true;
        const bool moved = v && r && !in_rst;  // the Python endpoints take no beat in reset
        if (in_rst) {
            stalled = false;
        } else if (checking && violation.empty()) {
            if (stalled) {
                if (!v) {
                    violation = "valid dropped before the transfer";
                } else if (!payload_is(held)) {
                    violation = "payload changed while stalled";
                }
                if (!violation.empty()) {  // both payloads, for a report with both values
                    seen.clear();
                    sample(seen);
                }
            }
            const bool stall = v && !r;
            if (stall && !stalled) {
                ++stalls;
                held.clear();
                sample(held);
            }
            stalled = stall;
        }
        // A restarted pausing sink takes nothing until it starts (the Python one is not yet waiting).
        if (moved && recording && !(pausing_sink && sink == SinkPhase::restart)) {
            sample(recorded);
            ++recorded_beats;
        }
        if (playing) play_edge(moved);
        if (pausing_sink) sink_edge(v, moved);
    }

    // A pausing source's pause is drawn where the Python one draws it: at the edge it wakes on,
    // and at each transfer with another beat queued. Pauses count edges, in reset too.
    void play_edge(bool moved) {
        if (moved && sent < queued && !waking && wait == 0) {
            ++sent;
            if (pausing_source && sent < queued) wait = pauses.next();
        } else if (waking) {
            waking = false;
            wait = pauses.next();
        } else if (wait > 0) {
            --wait;
        }
    }

    void sink_edge(bool v, bool moved) {
        switch (sink) {
            case SinkPhase::restart:
                break;
            case SinkPhase::ready:
                if (moved) draw_sink_pause();
                break;
            case SinkPhase::wait_valid:  // valid waits at this edge: the pause's first
                if (v) sink = --hold ? SinkPhase::hold : SinkPhase::ready;
                break;
            case SinkPhase::hold:
                if (--hold == 0) sink = SinkPhase::ready;
                break;
        }
    }

    void draw_sink_pause() {
        hold = pauses.next();
        sink = hold ? SinkPhase::wait_valid : SinkPhase::ready;
    }

    void falling_edge() {
        // A pausing sink drives ready (a restarted one keeps it until it starts, as in Python).
        if (pausing_sink && sink != SinkPhase::restart) ready.set_bit(sink == SinkPhase::ready);
        if (!playing) return;
        if (sent < queued && (waking || wait > 0)) {  // a pause before beat `sent`: the last payload stays
            valid.set_bit(0);
        } else if (sent < queued) {
            if (!driving || driven != sent) {  // a new beat (a stalled one is already on the wires)
                for (size_t i = 0; i < fields.size(); ++i)
                    std::memcpy(fields[i].data, queue[i].data() + sent * fields[i].bytes, fields[i].bytes);
                driven = sent;
                driving = true;
            }
            valid.set_bit(1);
        } else if (queued != 0 || driving) {  // the last beat moved: idle until more come
            valid.set_bit(0);
            clear_queue();
        }
    }

    void clear_queue() {
        queue.resize(fields.size());
        for (auto &column : queue) column.clear();  // keeps the capacity for the next batch
        sent = queued = 0;
        driving = false;
        waking = false;
        wait = 0;
    }
};

std::deque<Stream> streams_;  // a deque: a stream's address (its recorded count, read by Python) never moves

// At a clock edge due now: streams first (they see the settled values before the edge).
// Returns whether the edge was rising.
bool clock_edge() {
    const bool rising = !clock_.high;
    clock_.high = rising;
    if (rising) {
        for (Stream &s : streams_) s.rising_edge();
        clock_.signal.set_bit(1);
    } else {
        clock_.signal.set_bit(0);
        for (Stream &s : streams_) s.falling_edge();
    }
    clock_.next = main_time + clock_.half;
    return rising;
}

}  // namespace

// The C interface asicdv/testbench/native.py calls (ctypes on the simulator executable, linked -rdynamic).
extern "C" {

int asicdv_native_version() { return 3; }

// Start (or restart) the clock: a rising edge in a time slot of its own at the current time (as
// cocotb's GPI clock gives one, so a RisingEdge awaited right after the start fires at once), then
// a toggle every `half` steps. 0 when bound.
int asicdv_clock_start(const char *name, unsigned long long half) {
    if (!clock_.signal.bind(name) || half == 0) return -1;
    clock_.half = half;
    clock_.high = false;
    clock_.next = main_time;
    return 0;
}

// A stream: its valid, optional ready ("" for a valid-only stream), optional reset ("" for none)
// and payload fields (names joined by '\n'). Returns its id, or -1 when a signal cannot be bound.
int asicdv_stream_open(const char *valid, const char *ready, const char *reset, int reset_active,
                       const char *fields) {
    Stream s;
    if (!s.valid.bind(valid)) return -1;
    s.has_ready = ready && *ready;
    if (s.has_ready && !s.ready.bind(ready)) return -1;
    if (reset && *reset) {
        if (!s.reset.bind(reset)) return -1;
        s.has_reset = true;
        s.reset_active = reset_active ? 1 : 0;
    }
    std::string names = fields ? fields : "";
    size_t start = 0;
    while (start < names.size()) {
        size_t end = names.find('\n', start);
        if (end == std::string::npos) end = names.size();
        Signal f;
        if (!f.bind(names.substr(start, end - start).c_str())) return -1;
        s.fields.push_back(f);
        s.beat_bytes += f.bytes;
        start = end + 1;
    }
    s.clear_queue();
    streams_.push_back(std::move(s));
    return static_cast<int>(streams_.size() - 1);
}

// Storage bytes of field `i` (Python packs beats with these).
int asicdv_stream_field_bytes(int id, int i) { return streams_.at(id).fields.at(i).bytes; }
int asicdv_stream_field_bits(int id, int i) { return streams_.at(id).fields.at(i).bits; }

// Checking on (again): forgets the last violation and any stall in progress.
void asicdv_stream_set_checking(int id, int on) {
    Stream &s = streams_.at(id);
    s.checking = on != 0;
    s.stalled = false;
    s.violation.clear();
}

void asicdv_stream_set_recording(int id, int on) { streams_.at(id).recording = on != 0; }

// Queue `n` beats given field by field: field i of beat j is at fields[i] + j * strides[i]
// (stride 0: the same value on every beat), in that field's storage bytes.
void asicdv_stream_play_fields(int id, unsigned long long n, const uint8_t *const *fields,
                               const unsigned long long *strides) {
    Stream &s = streams_.at(id);
    s.playing = true;
    for (size_t i = 0; i < s.fields.size(); ++i) {
        const size_t bytes = s.fields[i].bytes;
        std::vector<uint8_t> &column = s.queue[i];
        if (strides[i] == bytes) {  // packed rows: one copy
            column.insert(column.end(), fields[i], fields[i] + n * bytes);
        } else if (strides[i] == 0) {  // a constant: copy it once, then double what is there
            const size_t start = column.size(), total = n * bytes;
            column.resize(start + total);
            uint8_t *dst = column.data() + start;
            if (total == 0) continue;
            std::memcpy(dst, fields[i], bytes);
            for (size_t filled = bytes; filled < total;) {
                const size_t chunk = std::min(filled, total - filled);
                std::memcpy(dst + filled, dst, chunk);
                filled += chunk;
            }
        } else {
            const size_t start = column.size();
            column.resize(start + n * bytes);
            for (unsigned long long j = 0; j < n; ++j)
                std::memcpy(column.data() + start + j * bytes, fields[i] + j * strides[i], bytes);
        }
    }
    if (s.pausing_source && s.sent == s.queued) s.waking = true;  // idle until now: wake at the next edge
    s.queued += n;
}

// Seeded pauses for the stream's source (sink 0) or sink (sink 1): PauseSchedule's generator
// state, threshold and longest pause. A sink waits for asicdv_stream_sink_start.
void asicdv_stream_set_pauses(int id, int sink, unsigned long long state, unsigned long long threshold,
                             unsigned longest) {
    Stream &s = streams_.at(id);
    s.pauses.state = state;
    s.pauses.threshold = threshold;
    s.pauses.longest = longest ? longest : 1;
    s.pausing_source = sink == 0;
    s.pausing_sink = sink != 0;
    s.sink = SinkPhase::restart;
}

// A new generator state (asicdv.testbench.stream.PauseSchedule.reseed: each hypothesis example's
// own); a sink still waiting for valid draws its pending pause again, as the Python sink does.
void asicdv_stream_reseed_pauses(int id, unsigned long long state) {
    Stream &s = streams_.at(id);
    s.pauses.state = state;
    if (s.pausing_sink && (s.sink == SinkPhase::ready || s.sink == SinkPhase::wait_valid)) s.draw_sink_pause();
}

// A pausing sink's task starts (just after an edge): its first pause is drawn now.
void asicdv_stream_sink_start(int id) { streams_.at(id).draw_sink_pause(); }

// Pauses drawn so far (0 or more each beat).
unsigned long long asicdv_stream_pauses_drawn(int id) { return streams_.at(id).pauses.drawn; }

// Beats queued but not transferred yet.
unsigned long long asicdv_stream_pending(int id) {
    const Stream &s = streams_.at(id);
    return s.queued - s.sent;
}

// Drop what the player holds (a reset); valid is dropped by Python through VPI.
void asicdv_stream_clear(int id) {
    Stream &s = streams_.at(id);
    s.clear_queue();
    s.recorded.clear();
    s.recorded_beats = 0;
    s.stalled = false;
    if (s.pausing_sink) s.sink = SinkPhase::restart;  // as the Python sink's restarted task
}

// Where the count of recorded beats lives: Python reads it in place (a drain only when it is not 0).
const size_t *asicdv_stream_recorded_address(int id) { return &streams_.at(id).recorded_beats; }

// Copy up to `n` recorded beats into `out` and forget them; returns how many.
unsigned long long asicdv_stream_drain(int id, uint8_t *out, unsigned long long n) {
    Stream &s = streams_.at(id);
    n = std::min<unsigned long long>(n, s.recorded_beats);
    const size_t bytes = n * s.beat_bytes;
    std::memcpy(out, s.recorded.data(), bytes);
    s.recorded.erase(s.recorded.begin(), s.recorded.begin() + bytes);
    s.recorded_beats -= n;
    return n;
}

unsigned long long asicdv_stream_stalls(int id) { return streams_.at(id).stalls; }

// The first protocol violation ("" if none).
const char *asicdv_stream_violation(int id) { return streams_.at(id).violation.c_str(); }

// The violation's payloads, beat_bytes each: the one that waited, then the one at its edge.
void asicdv_stream_violation_payloads(int id, uint8_t *out) {
    const Stream &s = streams_.at(id);
    std::memcpy(out, s.held.data(), s.beat_bytes);
    std::memcpy(out + s.beat_bytes, s.seen.data(), s.beat_bytes);
}

}  // extern "C"

// ---------------------------------------------------------------------------------------------
// Fork server (asicdv.testbench.fork_server): a run forked from a started simulator gets a model of
// its own, built after its seed is set, so registers without a reset start from that run's values
// exactly as in a fresh process started with +verilator+seed+<seed> (a coverage run's start at zero).

static std::unique_ptr<Vtop> top_;
#if VM_TRACE
static bool tracing_ = false;
#endif

// A forked run leaves with _exit once its output is flushed: the context's destructor would wait for
// the worker threads of Verilator's pool, which a fork does not copy.
static void leave_forked_run(int status, void *) {
    fflush(nullptr);
    _exit(status);
}

extern "C" int asicdv_fork_reseed(int seed) {
    on_exit(leave_forked_run, nullptr);  // runs before the static destructors registered earlier
#if VM_TRACE
    if (tracing_) return -1;  // the dump is tied to the model: a waves build serves one run, its own seed
#endif
    Verilated::threadContextp()->randSeed(seed);
    // Registers starting at zero (+verilator+rand+reset+0: coverage runs) do not depend on the
    // seed, and no simulation has touched the server's model: keep it, with its coverage points
    // (registering them again is about 1 s on the pipelined miner's 210,000).
    if (Verilated::threadContextp()->randReset() == 0) return 0;
#if VM_COVERAGE
    Verilated::threadContextp()->coveragep()->clear();  // the old model's points go with it
#endif
    top_.reset();
    top_.reset(new Vtop(""));
    if (asicdv_register_ports) asicdv_register_ports(top_.get());
    return 0;
}

// The coverage file (+verilator+coverage+file+<filename>, default coverage.dat): at the end of
// main (wrap_up) or of a forked run (asicdv_fork_leave).
static void write_coverage() {
#if VM_COVERAGE
    if (coverage_per_instance) Verilated::threadContextp()->coveragep()->forcePerInstance(true);
    VerilatedCov::write();
#endif
}

// A forked run's Python calls this last at its exit, once cocotb has written the run's results:
// what main would still do (the coverage file, the exit status), without Python's finalization,
// which frees the whole heap the run shares with its server (measured: ~90 ms after a
// hypothesis property). A waves build returns: its dump is closed by main.
extern "C" int asicdv_fork_leave() {
#if VM_TRACE
    if (tracing_) return -1;
#endif
    write_coverage();
    fflush(nullptr);
    _exit(Verilated::threadContextp()->errorCount() > 0 ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Value-change watches. cocotb's VPI calls to register and remove callbacks come here first
// (Verilator's own are renamed when verilated_vpi.o is built: verilated_vpi_hooks.mk), so the
// quiet run below knows what Python waits on: a check per edge is then a few inline compares of
// the watched signals' storage instead of Verilator's walk of its callback list. A watch whose
// storage is not a whole variable (a bit or part select, an array element) makes every edge ask
// Verilator, as before.

extern "C" vpiHandle verilated_vpi_register_cb(p_cb_data cb_data_p);
extern "C" PLI_INT32 verilated_vpi_remove_cb(vpiHandle cb_obj);

namespace {

struct Watch {
    vpiHandle callback;
    const uint8_t *data;
    uint32_t bytes;
    std::vector<uint8_t> seen;  // the value at the start of the quiet run
};
std::vector<Watch> watches_;
std::vector<vpiHandle> unknown_watches_;  // without storage of their own: compare nothing, ask Verilator

const VerilatedVar *watched_var(vpiHandle obj) {
    const char *full = vpi_get_str(vpiFullName, obj);
    if (!full || std::strchr(full, '[')) return nullptr;
    const VerilatedVar *var = find_var(full);
    // A whole variable: its VPI size is its storage's bits (a select or element is smaller).
    if (!var || var->udims() != 0 || vpi_get(vpiSize, obj) != static_cast<PLI_INT32>(var->entBits())) return nullptr;
    return var;
}

// Snapshot the watched values (the quiet run's start: every callback has just been settled).
void watches_seen() {
    for (Watch &w : watches_) std::memcpy(w.seen.data(), w.data, w.bytes);
}

// Whether a watched value may have changed since watches_seen(): then Verilator decides.
inline bool watches_changed() {
    if (!unknown_watches_.empty()) return true;
    for (const Watch &w : watches_)
        if (std::memcmp(w.seen.data(), w.data, w.bytes) != 0) return true;
    return false;
}

}  // namespace

extern "C" vpiHandle vpi_register_cb(p_cb_data cb_data_p) {
    vpiHandle callback = verilated_vpi_register_cb(cb_data_p);
    if (callback && cb_data_p->reason == cbValueChange) {
        if (const VerilatedVar *var = watched_var(cb_data_p->obj)) {
            const uint32_t bytes = var->entSize();
            watches_.push_back(
                {callback, static_cast<const uint8_t *>(var->datap()), bytes, std::vector<uint8_t>(bytes)});
        } else {
            unknown_watches_.push_back(callback);
        }
    }
    return callback;
}

extern "C" PLI_INT32 vpi_remove_cb(vpiHandle cb_obj) {
    for (size_t i = 0; i < watches_.size(); ++i) {
        if (watches_[i].callback == cb_obj) {
            watches_[i] = std::move(watches_.back());
            watches_.pop_back();
            break;
        }
    }
    for (size_t i = 0; i < unknown_watches_.size(); ++i) {
        if (unknown_watches_[i] == cb_obj) {
            unknown_watches_[i] = unknown_watches_.back();
            unknown_watches_.pop_back();
            break;
        }
    }
    return verilated_vpi_remove_cb(cb_obj);
}

// ---------------------------------------------------------------------------------------------
// The main loop (cocotb's, with the native clock as one more source of events)

static inline bool settle_value_callbacks() {
    bool cbs_called, again;

    // Call Value Change callbacks
    // These can modify signal values so we loop
    // until there are no more changes
    cbs_called = again = VerilatedVpi::callValueCbs();
    while (again) {
        again = VerilatedVpi::callValueCbs();
    }

    return cbs_called;
}

void wrap_up() {
    VerilatedVpi::callCbs(cbEndOfSimulation);

#if VM_TRACE
    if (tfp) {
        // We don't delete the trace object to avoid deadlock in verilator sims.
        tfp->close();
    }
#endif

    write_coverage();
}

int main(int argc, char **argv) {
#if VM_TRACE_FST
    const char *traceFile = "dump.fst";
#elif VM_TRACE_SAIF
    const char *traceFile = "dump.saif";
#else
    const char *traceFile = "dump.vcd";
#endif
    bool traceOn = false;
    bool traceFlush = false;
    bool coveragePerInstance = false;

    for (int i = 1; i < argc; i++) {
        std::string arg = std::string(argv[i]);
        if (arg == "--coverage-per-instance") {
#if VM_COVERAGE
            coveragePerInstance = true;
#else
            fprintf(stderr,
                    "Error: --coverage-per-instance requires the design to be "
                    "built with coverage support\n");
            return -1;
#endif
        } else if (arg == "--trace") {
#if VM_TRACE
            traceOn = true;
#else
            fprintf(stderr, "Error: --trace requires the design to be built with trace support\n");
            return -1;
#endif
        } else if (arg == "--trace-flush") {
            traceFlush = true;
        } else if (arg == "--trace-file") {
            if (++i < argc) {
                traceFile = argv[i];
            } else {
                fprintf(stderr, "Error: --trace-file requires a parameter\n");
                return -1;
            }
        }
    }

    Verilated::commandArgs(argc, argv);
#if VM_COVERAGE
    coverage_per_instance = coveragePerInstance;
#endif
    top_.reset(new Vtop(""));
    if (asicdv_register_ports) asicdv_register_ports(top_.get());
    Verilated::fatalOnVpiError(false);  // otherwise it will fail on systemtf

#if VM_TRACE
    Verilated::traceEverOn(true);
    if (traceOn) {
        tfp = new verilated_trace_t;
        tracing_ = true;
        top_->trace(tfp, 99);
        tfp->open(traceFile);
    }
#endif

    vlog_startup_routines_bootstrap();
    Verilated::addExitCb([](void *) { wrap_up(); }, nullptr);
    VerilatedVpi::callCbs(cbStartOfSimulation);
    settle_value_callbacks();

    while (!Verilated::gotFinish()) {
        do {
            // We must evaluate whole design until we process all 'events' for
            // this time step
            do {
                top_->eval_step();
                VerilatedVpi::clearEvalNeeded();
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded());

            // Run ReadWrite callback as we are done processing this eval step
            VerilatedVpi::callCbs(cbReadWriteSynch);
            VerilatedVpi::doInertialPuts();
            settle_value_callbacks();
        } while (VerilatedVpi::evalNeeded());

        top_->eval_end_step();

        // Call ReadOnly callbacks
        VerilatedVpi::callCbs(cbReadOnlySynch);

#if VM_TRACE
        if (tfp) {
            tfp->dump(main_time);
            if (traceFlush) {
                tfp->flush();
            }
        }
#endif
        // Next event: a cocotb timer (cbAfterDelay), a --timing delay, or the native clock.
        vluint64_t next_time = VerilatedVpi::cbNextDeadline();
        if (top_->eventsPending()) next_time = std::min(next_time, top_->nextTimeSlot());

        // Quiet clock edges: while only the native clock is due and Python waits on nothing but
        // value changes, an edge is the native harness's step plus the value-change check before
        // and after the evaluation (where cocotb's loop would call them). A change that wakes
        // Python leaves for the full loop below, which runs the rest of that time slot. Python
        // cannot register callbacks inside the quiet run, so its NextSimTime callbacks (which
        // also moves callbacks now due) and the ReadWrite/ReadOnly lists are looked at once.
        bool woke = false;
        if (clock_.next < next_time) {
            main_time = clock_.next;
            woke = VerilatedVpi::callCbs(cbNextSimTime);
            if (woke || VerilatedVpi::hasCbs(cbReadWriteSynch) || VerilatedVpi::hasCbs(cbReadOnlySynch)) {
                clock_edge();
                settle_value_callbacks();
                continue;  // the rest of this time slot as cocotb's loop runs it
            }
            next_time = VerilatedVpi::cbNextDeadline();  // unchanged while Python sleeps
        }
        // Before a rising edge's evaluation only the clock has changed: if no callback fires
        // there, none watches the clock, and none can be added until Python runs again, so the
        // rest of this quiet run skips that check.
        bool clock_unwatched = false;
        watches_seen();
        while (clock_.next < next_time && !(top_->eventsPending() && top_->nextTimeSlot() <= clock_.next)) {
            main_time = clock_.next;
            // Before a rising edge's evaluation Python must see the registers' old values; a
            // falling edge changes no register, so one check after its evaluation is enough.
            const bool rising = clock_edge();
            if (rising && !clock_unwatched) {
                if (VerilatedVpi::callValueCbs()) {
                    woke = true;
                    break;
                }
                clock_unwatched = true;
            }
            top_->eval_step();
            if (watches_changed()) {  // Verilator runs the callbacks; unknown watches ask every edge
                if (VerilatedVpi::callValueCbs()) {
                    woke = true;
                    break;
                }
                watches_seen();
            }
            top_->eval_end_step();
#if VM_TRACE
            if (tfp) tfp->dump(main_time);
#endif
            if (Verilated::gotFinish()) break;
        }
        if (woke) {
            // Python ran inside this time slot: finish it as cocotb's loop would.
            settle_value_callbacks();
            continue;
        }
        if (Verilated::gotFinish()) break;

        next_time = VerilatedVpi::cbNextDeadline();
        if (top_->eventsPending()) next_time = std::min(next_time, top_->nextTimeSlot());
        next_time = std::min(next_time, clock_.next);
        if (next_time == NEVER) break;
        main_time = next_time;

        // Call registered NextSimTime
        // It should be called in simulation cycle before everything else
        // but not on first cycle
        VerilatedVpi::callCbs(cbNextSimTime);
        settle_value_callbacks();

        // The native clock edge first, then cocotb's timed callbacks (as the GPI clock, started
        // first, would be).
        if (main_time == clock_.next) clock_edge();
        VerilatedVpi::callTimedCbs();
        settle_value_callbacks();
    }

    top_->final();

    wrap_up();

#if VM_TRACE
    if (tfp) {
        delete tfp;
        tfp = nullptr;
    }
#endif

    top_.reset();  // as cocotb's main: the model goes before the context

    // Fail the sim if any assertion/error fired during the run.
    if (Verilated::threadContextp()->errorCount() > 0) {
        return 1;
    }

    return 0;
}
